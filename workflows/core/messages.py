"""A message, once accepted: what it changes, what it records and whom it tells."""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows import limits
from workflows.contracts import Event, Message, NoticeFacts, TaskState
from workflows.core.decision import Count, Decision, Replan, Rules, Step, Watch
from workflows.core.matters import open_matter
from workflows.core.refusals import MOVES_TO, action_of, approver, is_co_receipt
from workflows.names import Action, EventKind, NoticeKind, Stage
from workflows.policy import ROLE_LABELS
from workflows.windows import ACTION_LABELS, DECISION_LABELS, STAGE_LABELS, URGENCY_LABELS

# The stage-moving messages and the event each records.
MOVE_EVENTS: dict[str, EventKind] = {
    "receive": EventKind.RECEIVED,
    "deploy": EventKind.DEPLOYED,
    "report:plan": EventKind.REPORTED_PLAN,
    "report:progress": EventKind.REPORTED_PROGRESS,
    "report:completion": EventKind.REPORTED_COMPLETION,
    "verify": EventKind.VERIFIED,
    "reject": EventKind.REJECTED,
    "withdraw": EventKind.WITHDRAWN,
}


def accept(state: TaskState, action: Action, msg: Message, now: datetime, rules: Rules) -> Decision:
    """The effect of a message the refusal rules let through."""
    step = Step(state, now, rules)
    handler = _HANDLERS.get(action)
    if handler is not None:
        handler(step, msg)
    elif is_co_receipt(action, msg, step.s):
        step.s.co_received.append(msg.unit)
        said(step, EventKind.CO_RECEIVED, msg)
    else:
        _move(step, action, msg)
    return step.decision()


def assigned(state: TaskState, by: str, now: datetime, rules: Rules) -> Decision:
    """The task is handed out: the first step on its record."""
    step = Step(state, now, rules)
    step.emit(EventKind.ASSIGNED, unit=state.spec.assigning_unit, by=by)
    urgency = (("urgency", state.spec.urgency),)
    step.add(Count("duban_tasks_started", "tasks started", urgency))
    return step.decision()


# What a continue-as-new carries of each text: the ledger keeps every word, the state
# only enough to show the story. With at most `keep` events, notices and answered matters
# the carried state stays far under Temporal's 2 MB payload limit whatever was written.
CARRIED_TEXT = 2_000
KEEP_ANSWERED = 10


def carried_over(state: TaskState, keep: int) -> TaskState:
    """What a continue-as-new carries: the state whole, the latest events and notices only
    (the ledger and the outbox keep them all), every text clipped, so a year-long task
    stays small whatever its units wrote."""

    def short(text: str) -> str:
        return limits.clip(text, CARRIED_TEXT) or ""

    answered = [m for m in state.matters if m.resolved][-KEEP_ANSWERED:]
    matters = [
        m.model_copy(
            update={"text": short(m.text), "resolution": limits.clip(m.resolution, CARRIED_TEXT)}
        )
        for m in state.matters
        if not m.resolved or m in answered
    ]
    return state.model_copy(
        update={
            "events": [
                e.model_copy(update={"detail": short(e.detail)}) for e in state.events[-keep:]
            ],
            "notifications": [
                n.model_copy(update={"detail": short(n.detail)})
                for n in state.notifications[-keep:]
            ],
            "matters": matters,
            "last_report": limits.clip(state.last_report, CARRIED_TEXT),
            "rework_reason": limits.clip(state.rework_reason, CARRIED_TEXT),
            "runs": state.runs + 1,
        }
    )


def refused(
    state: TaskState, action: Action, msg: Message, reason: str, now: datetime, rules: Rules
) -> Decision:
    """A message sent as a signal and refused: the refusal is recorded."""
    step = Step(state, now, rules)
    step.emit(
        EventKind.REFUSED,
        unit=limits.clean(msg.unit, limits.MAX_NAME),  # the refusal may be for these
        by=limits.clean(msg.by, limits.MAX_NAME),
        detail=f"拒绝{ACTION_LABELS.get(action, action)}：{reason}",
        actor=msg.actor,
    )
    return step.decision()


def said(
    step: Step,
    kind: EventKind,
    msg: Message,
    detail: str | None = None,
    level: int = 0,
    deadline: datetime | None = None,
) -> Event:
    """A message's event: by whom, for which unit, and what it said (or `detail`)."""
    return step.emit(
        kind,
        unit=msg.unit,
        by=msg.by,
        detail=msg.text if detail is None else detail,
        level=level,
        deadline=deadline,
        actor=msg.actor,
    )


def _move(step: Step, action: Action, msg: Message) -> None:
    s = step.s
    key = action_of(action, msg)
    s.stage = MOVES_TO[key]
    s.advances += 1
    s.extended_until = None  # an extension is for the window it was asked in
    if action == Action.REPORT:
        s.last_report = msg.text
    if action == Action.REJECT:
        s.rework_reason = msg.text
    event = said(step, MOVE_EVENTS[key], msg)
    if action == Action.RECEIVE and step.has("tell-head-on-receipt"):
        # S2 §5: the unit's principal leader hears of it the day it is received.
        about = NoticeFacts(subject_unit=msg.unit, said=msg.text)
        step.notify(event, "lead_unit", s.spec.lead_unit, NoticeKind.RECEIVED, about)


def _ack(step: Step, msg: Message) -> None:
    s = step.s
    s.acks += 1
    s.held_at_level = s.escalation_level
    said(step, EventKind.ACKNOWLEDGED, msg, level=s.escalation_level)


def _raise_urgency(step: Step, msg: Message) -> None:
    s = step.s
    old = s.current_urgency
    assert msg.urgency is not None
    s.urgency = msg.urgency
    said(
        step,
        EventKind.URGENCY_RAISED,
        msg,
        detail=f"{URGENCY_LABELS[old]} → {URGENCY_LABELS[msg.urgency]}",
    )
    step.add(Replan(f"紧急程度提升为{URGENCY_LABELS[msg.urgency]}"))


def _difficulty(step: Step, msg: Message) -> None:
    s = step.s
    said(step, EventKind.DIFFICULTY_REPORTED, msg)
    matter = open_matter(step, "difficulty", msg.unit, s.spec.assigning_unit, msg.text)
    step.add(Watch(matter.key))


def _resolution(msg: Message) -> str:
    label = DECISION_LABELS.get(msg.decision or "", msg.decision or "")
    return f"{label}：{msg.text}" if msg.text else label


def _answer_difficulty(step: Step, msg: Message) -> None:
    s = step.s
    matter = s.open_matter("difficulty")
    assert matter is not None
    matter.resolved, matter.resolution = True, _resolution(msg)
    said(step, EventKind.DIFFICULTY_ANSWERED, msg, detail=matter.resolution)
    if msg.decision == "suspend":
        s.suspended_at = step.now
        s.replans += 1
        said(step, EventKind.SUSPENDED, msg)
    elif msg.decision == "new_approach":
        s.stage = Stage.DEPLOYED  # a new plan is due, counted from now
        s.advances += 1
        if step.has("new-approach-clears-extension"):
            s.extended_until = None  # an extension was for the old approach
        said(step, EventKind.NEW_APPROACH, msg)


def _resume(step: Step, msg: Message) -> None:
    s = step.s
    assert s.suspended_at is not None
    paused = step.now - s.suspended_at
    s.suspended_at = None
    w = s.window
    if w is not None:  # every clock stood still: move each by the pause
        w.deadline += paused
        w.warn_at = w.warn_at + paused if w.warn_at else None
        w.paused += paused.total_seconds()  # kept, so a later re-plan keeps it too
    for m in s.matters if step.has("matters-pause") else []:
        if not m.resolved and m.deadline is not None:
            m.deadline += paused
            m.paused += paused.total_seconds()
    if s.level_deadline is not None:
        s.level_deadline += paused
    s.replans += 1
    said(
        step,
        EventKind.RESUMED,
        msg,
        detail=f"暂停 {span(paused)}；{msg.text}".rstrip("；"),
        deadline=w.deadline if w else None,
    )


def _request_extension(step: Step, msg: Message) -> None:
    said(step, EventKind.EXTENSION_REQUESTED, msg, detail=f"申请延期至 {msg.until}：{msg.text}")
    matter = open_matter(step, "extension", msg.unit, approver(step.s), msg.text, until=msg.until)
    step.add(Watch(matter.key))


def _decide_extension(step: Step, msg: Message) -> None:
    s = step.s
    matter = s.open_matter("extension")
    assert matter is not None and matter.until is not None
    matter.resolved, matter.resolution = True, _resolution(msg)
    if msg.decision == "approve":
        s.extended_until = matter.until
        if s.current_due is not None:
            s.due = matter.until
        said(step, EventKind.EXTENSION_APPROVED, msg, detail=f"同意延期至 {matter.until}")
        step.add(Replan(f"{msg.unit}同意延期至 {matter.until}"))
    else:
        said(step, EventKind.EXTENSION_REFUSED, msg)


def _contribute(step: Step, msg: Message) -> None:
    s = step.s
    s.contributions += 1
    event = said(step, EventKind.CONTRIBUTED, msg)
    about = NoticeFacts(subject_unit=msg.unit, said=msg.text)
    step.notify(event, "lead_unit", s.spec.lead_unit, NoticeKind.CONTRIBUTION, about)


def _disagree(step: Step, msg: Message) -> None:
    s = step.s
    said(step, EventKind.DISAGREEMENT_RAISED, msg)
    matter = open_matter(step, "disagreement", msg.unit, s.spec.assigning_unit, msg.text)
    step.add(Watch(matter.key))


def _resolve(step: Step, msg: Message) -> None:
    matter = step.s.open_matter("disagreement")
    assert matter is not None
    matter.resolved, matter.resolution = True, msg.text
    role = matter.ladder[matter.level][0]
    said(step, EventKind.DISAGREEMENT_RESOLVED, msg, detail=f"{ROLE_LABELS[role]}：{msg.text}")


_HANDLERS = {
    Action.ACK: _ack,
    Action.RAISE_URGENCY: _raise_urgency,
    Action.DIFFICULTY: _difficulty,
    Action.ANSWER_DIFFICULTY: _answer_difficulty,
    Action.RESUME: _resume,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.DECIDE_EXTENSION: _decide_extension,
    Action.CONTRIBUTE: _contribute,
    Action.DISAGREE: _disagree,
    Action.RESOLVE: _resolve,
}


def span(delta: timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    return f"{hours} 小时 {rest // 60:02d} 分"


__all__ = ["DECISION_LABELS", "STAGE_LABELS", "accept", "refused"]
