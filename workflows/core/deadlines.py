"""Deadlines: which window a stage opens, its warning, and how a re-plan moves it.

The calendar is asked by the shell (it alone knows the working days); these rules take its
answers. Each function returns a new state; the ones that record return a Decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.contracts import Deadline, NoticeFacts, TaskState, Window
from workflows.core.decision import Decision, Rules, Step, Warn, fork
from workflows.names import TERMINAL_STAGES, EventKind, NoticeKind, Stage
from workflows.windows import LABELS, PLANS, WindowPlan, anchor, local, owner


@dataclass(frozen=True)
class WindowAsk:
    """The window the task's stage opens now, and what the calendar must be asked for it."""

    stage: Stage
    generation: int
    plan: WindowPlan
    opened: datetime
    span: str
    due_counts: bool  # an earlier due date may close it sooner


def next_window(s: TaskState) -> WindowAsk:
    plan = PLANS[s.stage]
    span: str = getattr(s.spec.policy.windows_for(s.current_urgency), plan.name)
    return WindowAsk(
        stage=s.stage,
        generation=s.advances,
        plan=plan,
        opened=anchor(s, plan),
        span=span,
        due_counts=plan.name in ("progress", "stage_every"),
    )


# How a deadline's rule says the due date closed the window: the window is then "due".
BY_DUE_DATE = "按完成时限："


def earliest(deadline: Deadline, due: Deadline | None) -> Deadline:
    """A report window closes at the due date when that comes first."""
    if due is not None and due.at < deadline.at:
        return due.model_copy(update={"rule": f"{BY_DUE_DATE}{due.rule}"})
    return deadline


def extended(deadline: Deadline, extension: Deadline | None) -> Deadline:
    """An approved extension moves the window later, never earlier."""
    if extension is not None and extension.at > deadline.at:
        return extension.model_copy(update={"rule": f"经批准延期至：{extension.rule}"})
    return deadline


def set_window(state: TaskState, ask: WindowAsk, deadline: Deadline) -> TaskState:
    s = fork(state)
    by_due = deadline.rule.startswith((BY_DUE_DATE, "due: "))  # "due: " before release 3
    name = "due" if by_due else ask.plan.name
    s.window = Window(
        name=name,
        awaiting=ask.plan.awaiting,
        owner_unit=owner(s, ask.plan),
        opened_at=ask.opened,
        deadline=deadline.at,
        rule=deadline.rule,
        stage=ask.stage,
        generation=ask.generation,
        span=ask.span,
        fallback=deadline.fallback,
    )
    return s


def plan_warning(state: TaskState, margin_starts: datetime) -> TaskState:
    """The warning comes when the margin before the deadline begins; a window opened inside
    the margin is yellow at once, with no warning."""
    s = fork(state)
    w = s.window
    assert w is not None
    w.warn_at = max(margin_starts, w.opened_at)
    w.warned = w.warn_at <= w.opened_at
    return s


def set_difficulty_window(state: TaskState, until: Deadline) -> TaskState:
    s = fork(state)
    s.difficulty_until = until.at
    return s


def fallback_warning(s: TaskState, deadline: Deadline) -> list[Warn]:
    if not deadline.fallback:
        return []
    return [
        Warn(
            f"deadline for {s.spec.id} counted Monday-Friday: "
            f"no published calendar ({deadline.rule})"
        )
    ]


def window_set(state: TaskState, deadline: Deadline, now: datetime, rules: Rules) -> Decision:
    """The window is open: its deadline and the rule that set it go on record."""
    step = Step(state, now, rules)
    w = step.s.window
    assert w is not None
    for warning in fallback_warning(step.s, deadline):
        step.add(warning)
    step.emit(
        EventKind.DEADLINE_SET,
        unit=w.owner_unit,
        detail=f"{LABELS[w.name]}：{deadline.rule}",
        deadline=deadline.at,
    )
    return step.decision()


def warn(state: TaskState, now: datetime, rules: Rules) -> Decision:
    """The window closes soon: its owner is warned, once."""
    step = Step(state, now, rules)
    w = step.s.window
    assert w is not None
    w.warned = True
    event = step.emit(
        EventKind.WARNED,
        unit=w.owner_unit,
        detail=f"{LABELS[w.name]}将于 {local(w.deadline)} 截止",
        deadline=w.deadline,
    )
    about = NoticeFacts(subject_unit=w.owner_unit, window=w.name, window_deadline=w.deadline)
    step.notify(event, "lead_unit", w.owner_unit, NoticeKind.WARNING, about)
    return step.decision()


def miss(state: TaskState, now: datetime, rules: Rules) -> Decision:
    """The window closed with nothing received: a miss, on record."""
    step = Step(state, now, rules)
    w = step.s.window
    assert w is not None
    w.missed = True
    step.s.misses += 1
    step.emit(EventKind.MISSED, unit=w.owner_unit, detail=f"{LABELS[w.name]}已逾期")
    return step.decision()


# ---- re-planning --------------------------------------------------------------------------


def replannable(s: TaskState) -> bool:
    """A window of the current stage is open: its deadline may move."""
    w = s.window
    return w is not None and s.stage not in TERMINAL_STAGES and w.stage == s.stage


def replan_span(s: TaskState) -> str | None:
    """The policy's span for the open window now (the urgency may have changed it); None
    for the due date, which is a date, not a span."""
    w = s.window
    assert w is not None
    if w.name == "due":
        return None
    span: str | None = getattr(s.spec.policy.windows_for(s.current_urgency), w.name, None)
    return span


def keep_pause(new: Deadline, paused: float) -> Deadline:
    """A suspension's pause stays added, whatever else moves."""
    return new.model_copy(
        update={
            "at": new.at + timedelta(seconds=paused),
            "rule": f"{new.rule}；暂停顺延 {paused / 3600:.1f} 小时",
        }
    )


def open_matters(s: TaskState) -> list[str]:
    """The matters whose answer window runs now: a re-plan moves them too."""
    return [
        m.key
        for m in s.matters
        if not m.resolved and m.deadline is not None and m.opened_at is not None
    ]


def move_matter(state: TaskState, key: str, moved: Deadline, pause: timedelta) -> TaskState:
    s = fork(state)
    m = next(m for m in s.matters if m.key == key)
    m.deadline, m.rule = moved.at + pause, moved.rule
    return s


def unchanged(s: TaskState, new: Deadline) -> bool:
    w = s.window
    assert w is not None
    return new.at == w.deadline and new.fallback == w.fallback


def bump(state: TaskState) -> TaskState:
    """Something the waits read moved (a matter's deadline, a pause): they look again."""
    s = fork(state)
    s.replans += 1
    return s


def move_window(state: TaskState, new: Deadline, span: str | None) -> TaskState:
    s = fork(state)
    w = s.window
    assert w is not None
    w.deadline, w.rule, w.fallback, w.span = new.at, new.rule, new.fallback, span
    return s


def replanned(
    state: TaskState, old: datetime, new: Deadline, reason: str, now: datetime, rules: Rules
) -> Decision:
    """The window's deadline moved: a window open again stops the climb; on record."""
    step = Step(state, now, rules)
    s = step.s
    w = s.window
    assert w is not None
    if w.missed and new.at > now:  # the window is open again: the climb stops
        w.missed = False
        s.escalation_level, s.level_deadline, s.held_at_level = 0, None, 0
        s.reminders = 0
    for warning in fallback_warning(s, new):
        step.add(warning)
    s.replans += 1
    step.emit(
        EventKind.REPLANNED,
        unit=w.owner_unit,
        detail=f"{LABELS[w.name]}：{local(old)} → {local(new.at)}（{reason}；{new.rule}）",
        deadline=new.at,
    )
    return step.decision()


__all__ = ["Rules"]
