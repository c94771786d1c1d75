"""Which message each stage awaits, and why a message is refused (pure rules, no I/O)."""

from __future__ import annotations

from workflows.contracts import TERMINAL_STAGES, Message, Stage, TaskState
from workflows.policy import ROLE_LABELS

# action -> the stages at which it is accepted
ACCEPTED_AT: dict[str, frozenset[Stage]] = {
    "receive": frozenset({Stage.ASSIGNED}),
    "deploy": frozenset({Stage.RECEIVED}),
    "report:plan": frozenset({Stage.DEPLOYED}),
    "report:progress": frozenset({Stage.PLANNED, Stage.IN_PROGRESS}),
    "report:completion": frozenset({Stage.PLANNED, Stage.IN_PROGRESS}),
    "verify": frozenset({Stage.COMPLETED}),
    "reject": frozenset({Stage.COMPLETED}),
    "withdraw": frozenset(set(Stage) - TERMINAL_STAGES),
}

# action -> the stage it moves the task to
MOVES_TO: dict[str, Stage] = {
    "receive": Stage.RECEIVED,
    "deploy": Stage.DEPLOYED,
    "report:plan": Stage.PLANNED,
    "report:progress": Stage.IN_PROGRESS,
    "report:completion": Stage.COMPLETED,
    "verify": Stage.CLOSED,
    "reject": Stage.IN_PROGRESS,
    "withdraw": Stage.WITHDRAWN,
}


def action_of(name: str, msg: Message) -> str:
    return f"report:{msg.kind}" if name == "report" else name


def refusal(name: str, msg: Message, state: TaskState) -> str | None:
    """The one-line reason a message is refused, or None when it is accepted."""
    spec = state.spec
    if state.stage in TERMINAL_STAGES:
        return f"task {spec.id} is {state.stage.value}; it takes no more messages"
    if name == "report" and msg.kind is None:
        return "a report needs a kind: plan, progress or completion"
    if name in ("report", "reject", "withdraw") and not msg.text.strip():
        what = {"report": "report", "reject": "rejection", "withdraw": "withdrawal"}[name]
        return f"an empty {what}: say what {'was done' if name == 'report' else 'the reason is'}"
    if name == "ack":
        return _ack_refusal(msg, state)
    sender = spec.assigning_unit if name in ("verify", "reject", "withdraw") else spec.lead_unit
    if msg.unit != sender:
        return f"{msg.unit} may not {name} task {spec.id}: only {sender} may"
    action = action_of(name, msg)
    if state.stage not in ACCEPTED_AT[action]:
        wanted = ", ".join(sorted(s.value for s in ACCEPTED_AT[action]))
        return (
            f"task {spec.id} is at stage {state.stage.value}; "
            f"{action.replace(':', ' ')} is taken at stage {wanted}"
        )
    return None


def _ack_refusal(msg: Message, state: TaskState) -> str | None:
    level = state.escalation_level
    if level == 0:
        return f"task {state.spec.id} is not escalated; there is nothing to acknowledge"
    rung = state.spec.policy.escalation[min(level, len(state.spec.policy.escalation)) - 1]
    if msg.role is not None and msg.role != rung.level:
        return (
            f"task {state.spec.id} is at level {level} ({rung.level}); "
            f"{msg.role} cannot acknowledge it"
        )
    owner = state.window.owner_unit if state.window else state.spec.lead_unit
    if rung.level == "lead_unit" and msg.unit != owner:
        return f"{msg.unit} may not acknowledge level 1 of task {state.spec.id}: only {owner} may"
    if state.held_at_level == level:
        return f"level {level} ({ROLE_LABELS[rung.level]}) has already acknowledged this miss"
    return None
