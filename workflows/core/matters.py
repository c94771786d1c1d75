"""Matters a unit raises that someone must answer in time: a difficulty (the office), a
request for more time (the approver), a disagreement (the coordination ladder). A missed
answer climbs that matter's own ladder: the supervisor is supervised too (S0 §3, §7)."""

from __future__ import annotations

from datetime import date, datetime

from workflows.contracts import Deadline, Matter, MatterKind, NoticeFacts, TaskState
from workflows.core.decision import Decision, Rules, Step
from workflows.names import EventKind, NoticeKind
from workflows.policy import ROLE_LABELS, Recipient
from workflows.windows import LABELS, local


def ladder(s: TaskState, kind: MatterKind) -> list[tuple[Recipient, str]]:
    """Who answers the matter, first to last, and each one's answer window."""
    policy = s.spec.policy
    windows = policy.windows_for(s.current_urgency)
    if kind == "disagreement":
        return [(r.level, r.answer_within) for r in policy.coordination]
    first = windows.difficulty_answer if kind == "difficulty" else windows.extension_answer
    above = [
        (r.level, r.answer_within)
        for r in policy.ladder_for(s.current_urgency)
        if r.level != "lead_unit"
    ]
    return [("office", first), *above]


def open_matter(
    step: Step,
    kind: MatterKind,
    unit: str,
    answering_unit: str,
    text: str,
    until: date | None = None,
) -> Matter:
    s = step.s
    matter = Matter(
        key=f"{kind}:{s.seq}",
        kind=kind,
        raised_by=unit,
        raised_at=step.now,
        text=text,
        until=until,
        ladder=ladder(s, kind),
        unit=answering_unit,
    )
    s.matters.append(matter)
    return matter


def find(s: TaskState, key: str) -> Matter:
    return next(m for m in s.matters if m.key == key)


def watching(s: TaskState, key: str, terminal: bool) -> bool:
    """Whether a matter's clock still runs: unanswered, and the task not over."""
    return not find(s, key).resolved and not terminal


def level_opened(
    state: TaskState, key: str, answer_by: Deadline, now: datetime, rules: Rules
) -> Decision:
    """A level of the matter's ladder is asked to answer by `answer_by`, and told."""
    step = Step(state, now, rules)
    s = step.s
    m = find(s, key)
    label = LABELS[m.kind]
    role, _ = m.ladder[m.level]
    m.opened_at = now
    m.deadline, m.rule = answer_by.at, answer_by.rule
    unit = m.unit if m.level == 0 else s.spec.lead_unit
    event = step.emit(
        EventKind.MATTER_OPENED if m.level == 0 else EventKind.MATTER_ESCALATED,
        unit=unit,
        level=m.level,
        detail=f"{label}：请{ROLE_LABELS[role]}于 {local(m.deadline)} 前答复（{m.rule}）",
        deadline=m.deadline,
    )
    about = NoticeFacts(subject_unit=m.raised_by, answer_by=m.deadline, matter=m.kind, said=m.text)
    step.notify(event, role, unit, NoticeKind.MATTER, about)
    return step.decision()


def missed(state: TaskState, key: str, now: datetime, rules: Rules) -> Decision:
    """No answer in time: the next level of the matter's ladder is asked."""
    step = Step(state, now, rules)
    m = find(step.s, key)
    m.missed = True
    step.emit(
        EventKind.MATTER_MISSED, unit=m.unit, level=m.level, detail=f"{LABELS[m.kind]}未按时答复"
    )
    m.level = min(m.level + 1, len(m.ladder) - 1)
    m.deadline = None
    return step.decision()
