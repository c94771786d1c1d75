"""The escalation ladder: a missed window climbs lead unit → deputy secretary-general →
principal leader, one level per unanswered answer window; everyone below is copied, and the
top is reminded (S2 §5, S1 第八条)."""

from __future__ import annotations

from datetime import datetime

from workflows import durations
from workflows.contracts import Deadline, NoticeFacts, TaskState
from workflows.core.decision import Count, Decision, Rules, Step, fork
from workflows.names import EventKind, NoticeKind
from workflows.policy import ROLE_LABELS, Rung
from workflows.windows import local


def ladder(s: TaskState) -> list[Rung]:
    return s.spec.policy.ladder_for(s.current_urgency)


def next_rung(s: TaskState) -> Rung:
    """The level the next step reaches: one up, or the top again (a reminder)."""
    rungs = ladder(s)
    return rungs[min(s.escalation_level + 1, len(rungs)) - 1]


def reminding(s: TaskState) -> bool:
    """At the top (or above it: the urgency moved the task to a shorter ladder)."""
    return s.escalation_level >= len(ladder(s))


def answer_window(s: TaskState, backs_off: bool) -> str:
    """The next step's answer window: the level's own, or, for the k-th reminder of one
    miss, that window 2^k times over (a policy that shouts is heard less often)."""
    span = next_rung(s).answer_within
    if backs_off and reminding(s):
        return durations.times(span, 2 ** (s.reminders + 1))
    return span


def reminders_spent(s: TaskState) -> bool:
    """The top was reminded as often as the policy allows for this miss."""
    return reminding(s) and s.reminders >= s.spec.policy.max_reminders


def current_rung(s: TaskState) -> Rung:
    rungs = ladder(s)
    return rungs[min(s.escalation_level, len(rungs)) - 1]


def step_up(state: TaskState, answer_by: Deadline, now: datetime, rules: Rules) -> Decision:
    """One level up (or the top reminded), told with everyone on the way up."""
    step = Step(state, now, rules)
    s = step.s
    w = s.window
    assert w is not None
    rungs = ladder(s)
    reminding = s.escalation_level >= len(rungs)
    level = min(s.escalation_level + 1, len(rungs))
    rung = rungs[level - 1]
    s.escalation_level, s.level_deadline = level, answer_by.at
    if reminding:
        s.reminders += 1
    event = step.emit(
        EventKind.REMINDED if reminding else EventKind.ESCALATED,
        unit=w.owner_unit,
        level=level,
        detail=f"{ROLE_LABELS[rung.level]}：请于 {local(answer_by.at)} 前答复",
        deadline=answer_by.at,
    )
    about = NoticeFacts(
        subject_unit=w.owner_unit,
        window=w.name,
        window_deadline=w.deadline,
        answer_by=answer_by.at,
    )
    kind = NoticeKind.REMINDER if reminding else NoticeKind.ESCALATION
    step.notify(event, rung.level, w.owner_unit, kind, about)
    if not reminding:
        for lower in rungs[: level - 1]:  # everyone on the way up is told
            step.notify(event, lower.level, w.owner_unit, NoticeKind.COPY, about)
        if step.has("co-unit-copies"):  # and the co-units it concerns
            for unit in s.spec.co_units:
                step.notify(event, "co_unit", unit, NoticeKind.COPY, about)
    step.add(Count("duban_escalations", "escalations by level", (("level", str(level)),)))
    return step.decision()


def held(state: TaskState, answer_by: Deadline, now: datetime, rules: Rules) -> Decision:
    """The level took the matter up (我已知悉并督办): it holds for one more answer window."""
    step = Step(state, now, rules)
    s = step.s
    s.level_deadline = answer_by.at
    step.emit(
        EventKind.HELD,
        level=s.escalation_level,
        detail=f"第 {s.escalation_level} 级已接手督办，答复期限延至 {local(answer_by.at)}",
        deadline=answer_by.at,
    )
    return step.decision()


def stalled(state: TaskState, now: datetime, rules: Rules) -> Decision:
    """Reminded enough: no more reminders for this miss; the office is told, once, to take
    it up by other means. The task stays red until the message comes."""
    step = Step(state, now, rules)
    s = step.s
    w = s.window
    assert w is not None
    s.level_deadline = None
    event = step.emit(
        EventKind.REMINDERS_SPENT,
        unit=w.owner_unit,
        level=s.escalation_level,
        detail=f"已提醒{ROLE_LABELS[current_rung(s).level]} {s.reminders} 次仍未反馈，"
        "不再自动提醒，请办公室跟进",
    )
    about = NoticeFacts(subject_unit=w.owner_unit, window=w.name, window_deadline=w.deadline)
    step.notify(event, "office", s.spec.assigning_unit, NoticeKind.STALLED, about)
    return step.decision()


def settle(state: TaskState, mark: int) -> TaskState:
    """The climb is over: when the awaited message came, the ladder is back at the start."""
    if state.advances == mark:
        return state
    s = fork(state)
    s.escalation_level, s.level_deadline, s.held_at_level = 0, None, 0
    s.reminders = 0
    return s
