"""What the task does with a delivery's outcome: keep it, and tell the office by other
means of a notice that did not get through."""

from __future__ import annotations

from datetime import datetime

from workflows.contracts import Notice, NoticeFacts, NoticeOutcome, TaskState
from workflows.core.decision import Decision, Rules, Step
from workflows.names import EventKind, NoticeKind
from workflows.policy import ROLE_LABELS

KEEP_NOTIFICATIONS = 50  # outcomes carried over a continue-as-new; the outbox keeps them all


def whom(notice: Notice) -> str:
    """Whom a notice was for: a unit's head by the unit, a leader by the role."""
    if notice.role in ("lead_unit", "co_unit", "office"):
        return f"{notice.unit}{ROLE_LABELS[notice.role]}"
    return ROLE_LABELS[notice.role]


def undelivered(
    state: TaskState,
    notice: Notice,
    cause: str,
    now: datetime,
    rules: Rules,
    failed_on: str = "",
) -> Decision:
    """A notice that could not be delivered is the office's to chase, by other means: the
    office is told over a channel other than the ones that failed (`failed_on`, "a+b")."""
    step = Step(state, now, rules)
    event = step.emit(
        EventKind.NOTICE_FAILED,
        unit=notice.unit,
        level=notice.level,
        detail=f"未能通知{whom(notice)}：{cause}",
    )
    about = NoticeFacts(
        subject_unit=notice.unit, said=cause, failed_role=notice.role, failed_unit=notice.unit
    )
    avoid = tuple(c for c in failed_on.split("+") if c)
    step.notify(event, "office", step.s.spec.assigning_unit, NoticeKind.UNDELIVERED, about, avoid)
    return step.decision()


def kept(state: TaskState, outcomes: list[NoticeOutcome]) -> TaskState:
    """The outcomes join the task's list (trimmed over a continue-as-new)."""
    return state.model_copy(update={"notifications": [*state.notifications, *outcomes]})
