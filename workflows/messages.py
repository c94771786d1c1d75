"""Which message each stage awaits, and why a message is refused (pure rules, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workflows.contracts import TERMINAL_STAGES, URGENCY_RANK, Message, Stage, TaskState
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

# Stages in which the lead unit is at work: difficulties and extensions are raised here.
WORKING = frozenset({Stage.RECEIVED, Stage.DEPLOYED, Stage.PLANNED, Stage.IN_PROGRESS})
# Messages a suspended task still takes: the office's and the approver's, and coordination.
WHILE_SUSPENDED = frozenset(
    {"resume", "withdraw", "answer_difficulty", "resolve", "disagree", "decide_extension"}
)
DIFFICULTY_ANSWERS = ("continue", "suspend", "new_approach")
EXTENSION_ANSWERS = ("approve", "refuse")
NEEDS_TEXT = {  # message -> (what it is, what its text must say)
    "report": ("report", "say what was done"),
    "reject": ("rejection", "give the reason"),
    "withdraw": ("withdrawal", "give the reason"),
    "difficulty": ("difficulty report", "say what is hard to carry out"),
    "request_extension": ("request for more time", "give the reason"),
    "contribute": ("contribution", "say what was done"),
    "disagree": ("disagreement", "say what it is about"),
    "resolve": ("resolution", "say how it is resolved"),
}

Check = Callable[[Message, TaskState, datetime], "str | None"]


def action_of(name: str, msg: Message) -> str:
    return f"report:{msg.kind}" if name == "report" else name


def is_co_receipt(name: str, msg: Message, state: TaskState) -> bool:
    return name == "receive" and msg.unit in state.spec.co_units


def refusal(name: str, msg: Message, state: TaskState, now: datetime) -> str | None:
    """The one-line reason a message is refused, or None when it is accepted."""
    spec = state.spec
    if state.stage in TERMINAL_STAGES:
        return f"task {spec.id} is {state.stage.value}; it takes no more messages"
    if state.suspended_at is not None and name not in WHILE_SUSPENDED:
        return f"task {spec.id} is suspended by the office; it takes no {name} until resumed"
    if name == "report" and msg.kind is None:
        return "a report needs a kind: plan, progress or completion"
    if name in NEEDS_TEXT and not msg.text.strip():
        noun, hint = NEEDS_TEXT[name]
        return f"an empty {noun}: {hint}"
    check = CHECKS.get(name)
    if check is not None:
        return check(msg, state, now)
    return _stage_refusal(name, msg, state)


def _stage_refusal(name: str, msg: Message, state: TaskState) -> str | None:
    spec = state.spec
    if is_co_receipt(name, msg, state):
        if msg.unit in state.co_received:
            return f"{msg.unit} has already signed for task {spec.id}"
        return None
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


def _only(unit: str, msg: Message, what: str, task_id: str) -> str | None:
    return (
        None if msg.unit == unit else f"{msg.unit} may not {what} task {task_id}: only {unit} may"
    )


def _ack(msg: Message, state: TaskState, now: datetime) -> str | None:
    level = state.escalation_level
    if level == 0:
        return f"task {state.spec.id} is not escalated; there is nothing to acknowledge"
    ladder = state.spec.policy.ladder_for(state.current_urgency)
    rung = ladder[min(level, len(ladder)) - 1]
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


def _raise_urgency(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.assigning_unit, msg, "raise the urgency of", spec.id)) is not None:
        return reason
    if msg.urgency is None:
        return "say which urgency: important or urgent"
    if URGENCY_RANK[msg.urgency] <= URGENCY_RANK[state.current_urgency]:
        return f"task {spec.id} is already {state.current_urgency}; urgency can only be raised"
    return None


def _difficulty(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.lead_unit, msg, "report a difficulty on", spec.id)) is not None:
        return reason
    if state.stage not in WORKING:
        return (
            f"task {spec.id} is at stage {state.stage.value}; "
            "a difficulty is reported after receipt"
        )
    if state.difficulty_until is not None and now > state.difficulty_until:
        return (
            f"the window for reporting a difficulty on task {spec.id} closed at "
            f"{state.difficulty_until.isoformat(timespec='minutes')}"
        )
    if state.open_matter("difficulty") is not None:
        return f"task {spec.id} already has a difficulty awaiting the office's answer"
    return None


def _answer_difficulty(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.assigning_unit, msg, "answer a difficulty on", spec.id)) is not None:
        return reason
    if state.open_matter("difficulty") is None:
        return f"task {spec.id} has no difficulty awaiting an answer"
    if msg.decision not in DIFFICULTY_ANSWERS:
        return f"the office answers a difficulty with one of {', '.join(DIFFICULTY_ANSWERS)}"
    return None


def _resume(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.assigning_unit, msg, "resume", spec.id)) is not None:
        return reason
    if state.suspended_at is None:
        return f"task {spec.id} is not suspended"
    return None


def _request_extension(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.lead_unit, msg, "ask for more time on", spec.id)) is not None:
        return reason
    if state.stage not in WORKING:
        return f"task {spec.id} is at stage {state.stage.value}; more time is asked while at work"
    if msg.until is None:
        return "say until which date (--until YYYY-MM-DD)"
    if state.open_matter("extension") is not None:
        return f"task {spec.id} already has a request for more time awaiting an answer"
    current = state.current_due or (state.window.deadline.date() if state.window else None)
    if current is not None and msg.until <= current:
        return f"an extension to {msg.until} is not later than the current deadline {current}"
    if msg.until <= now.date():
        return f"an extension to {msg.until} is in the past"
    return None


def approver(state: TaskState) -> str:
    named = state.spec.policy.extension_approver
    return state.spec.assigning_unit if named == "assigning_unit" else named


def _decide_extension(msg: Message, state: TaskState, now: datetime) -> str | None:
    who = approver(state)
    if (reason := _only(who, msg, "decide on more time for", state.spec.id)) is not None:
        return reason
    if state.open_matter("extension") is None:
        return f"task {state.spec.id} has no request for more time awaiting an answer"
    if msg.decision not in EXTENSION_ANSWERS:
        return f"answer a request for more time with {' or '.join(EXTENSION_ANSWERS)}"
    return None


def _contribute(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if msg.unit not in spec.co_units:
        return f"{msg.unit} is not a co-unit of task {spec.id}"
    if msg.unit not in state.co_received:
        return f"{msg.unit} has not signed for task {spec.id} yet"
    return None


def _disagree(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if msg.unit != spec.lead_unit and msg.unit not in spec.co_units:
        return f"{msg.unit} is not a unit of task {spec.id}"
    if state.open_matter("disagreement") is not None:
        return f"task {spec.id} already has a disagreement being coordinated; resolve it first"
    return None


def _resolve(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    matter = state.open_matter("disagreement")
    if matter is None:
        return f"task {spec.id} has no disagreement awaiting coordination"
    role = matter.ladder[matter.level][0]
    if role == "office" and msg.unit != spec.assigning_unit:
        return (
            f"{msg.unit} may not resolve this at the office's level: only {spec.assigning_unit} may"
        )
    if role != "office" and msg.role != role:
        return (
            f"the disagreement is with the {role.replace('_', ' ')}; resolve it with --role {role}"
        )
    return None


CHECKS: dict[str, Check] = {
    "ack": _ack,
    "raise_urgency": _raise_urgency,
    "difficulty": _difficulty,
    "answer_difficulty": _answer_difficulty,
    "resume": _resume,
    "request_extension": _request_extension,
    "decide_extension": _decide_extension,
    "contribute": _contribute,
    "disagree": _disagree,
    "resolve": _resolve,
}
