"""Which message each stage awaits, and why a message is refused (pure rules, no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workflows.contracts import TERMINAL_STAGES, URGENCY_RANK, Message, Stage, TaskState
from workflows.limits import message_problem
from workflows.policy import ROLE_LABELS
from workflows.windows import (
    ACTION_LABELS,
    DECISION_LABELS,
    MATTER_LABELS,
    REPORT_LABELS,
    STAGE_LABELS,
    URGENCY_LABELS,
    local,
    office_day,
)

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
    "report": ("报告", "写明做了哪些工作"),
    "reject": ("退回意见", "写明退回理由"),
    "withdraw": ("撤回说明", "写明撤回理由"),
    "difficulty": (MATTER_LABELS["difficulty"], "写明执行中遇到的困难"),
    "request_extension": (MATTER_LABELS["extension"], "写明申请延期的理由"),
    "contribute": ("协办情况", "写明做了哪些工作"),
    "disagree": (MATTER_LABELS["disagreement"], "写明分歧所在"),
    "resolve": ("协调意见", "写明如何解决"),
}

Check = Callable[[Message, TaskState, datetime], "str | None"]


def action_of(name: str, msg: Message) -> str:
    return f"report:{msg.kind}" if name == "report" else name


def is_co_receipt(name: str, msg: Message, state: TaskState) -> bool:
    return name == "receive" and msg.unit in state.spec.co_units


# ---- the words, each said once: the HTTP service's door (activities.authz) says them too ----


def what(action: str) -> str:
    """What a message asks the task to do, as a refusal says it: 签收, 报送计划报告."""
    name, _, kind = action.partition(":")
    if kind:
        return f"报送{REPORT_LABELS.get(kind, kind)}"
    return ACTION_LABELS.get(name, name)


def not_theirs(who: str, action: str, task_id: str, allowed: str) -> str:
    """「区财政局无权签收：任务 T-2026-001 只有区司法局可以签收」"""
    doing = what(action)
    return f"{who}无权{doing}：任务 {task_id} 只有{allowed}可以{doing}"


def ended(task_id: str, stage: Stage) -> str:
    """「任务 T-2026-001 已办结，不再办理任何事项」"""
    return f"任务 {task_id} {STAGE_LABELS[stage]}，不再办理任何事项"


def not_escalated(task_id: str) -> str:
    return f"任务 {task_id} 未升级督办，无需确认"


def no_disagreement(task_id: str) -> str:
    return f"任务 {task_id} 没有待协调的意见分歧"


def stages(among: frozenset[Stage] | set[Stage]) -> str:
    """「“已签收”“已部署”或“推进中”」, in the order of the procedure (no 顿号 between
    quoted items, GB/T 15834)."""
    quoted = [f"“{STAGE_LABELS[s]}”" for s in Stage if s in among]
    return "".join(quoted[:-1]) + f"或{quoted[-1]}" if len(quoted) > 1 else quoted[0]


def at_stage(task_id: str, stage: Stage) -> str:
    return f"任务 {task_id} 处于“{STAGE_LABELS[stage]}”阶段"


def choices(values: tuple[str, ...], labels: dict[str, str]) -> str:
    """「继续执行（continue）、暂停执行（suspend）或调整思路（new_approach）」"""
    said = [f"{labels[v]}（{v}）" for v in values]
    return "、".join(said[:-1]) + f"或{said[-1]}"


# ---- the rules ---------------------------------------------------------------------------------


def refusal(name: str, msg: Message, state: TaskState, now: datetime) -> str | None:
    """The one-line reason a message is refused, or None when it is accepted."""
    spec = state.spec
    problem = message_problem(msg.unit, msg.by, msg.text, msg.until)
    if problem is not None:
        return problem
    if state.stage in TERMINAL_STAGES:
        return ended(spec.id, state.stage)
    if state.suspended_at is not None and name not in WHILE_SUSPENDED:
        return f"任务 {spec.id} 已由办公室暂停执行，恢复执行前不能{what(name)}"
    if name == "report" and msg.kind is None:
        return f"报告须注明类别：{choices(('plan', 'progress', 'completion'), REPORT_LABELS)}"
    if name in NEEDS_TEXT and not msg.text.strip():
        noun, hint = NEEDS_TEXT[name]
        return f"{noun}内容为空：请{hint}"
    check = CHECKS.get(name)
    if check is not None:
        return check(msg, state, now)
    return _stage_refusal(name, msg, state)


def _stage_refusal(name: str, msg: Message, state: TaskState) -> str | None:
    spec = state.spec
    if is_co_receipt(name, msg, state):
        if msg.unit in state.co_received:
            return f"{msg.unit}已签收任务 {spec.id}，无需重复签收"
        return None
    sender = spec.assigning_unit if name in ("verify", "reject", "withdraw") else spec.lead_unit
    action = action_of(name, msg)
    if msg.unit != sender:
        return not_theirs(msg.unit, action, spec.id, sender)
    if state.stage not in ACCEPTED_AT[action]:
        wanted = stages(ACCEPTED_AT[action])
        doing = what(action)
        if doing.startswith("报送"):  # 「计划报告应在“已部署”阶段报送」
            return f"{at_stage(spec.id, state.stage)}；{doing[2:]}应在{wanted}阶段报送"
        return f"{at_stage(spec.id, state.stage)}；{doing}应在{wanted}阶段进行"
    return None


def _only(unit: str, msg: Message, action: str, task_id: str) -> str | None:
    return None if msg.unit == unit else not_theirs(msg.unit, action, task_id, unit)


def _ack(msg: Message, state: TaskState, now: datetime) -> str | None:
    level = state.escalation_level
    if level == 0:
        return not_escalated(state.spec.id)
    ladder = state.spec.policy.ladder_for(state.current_urgency)
    rung = ladder[min(level, len(ladder)) - 1]
    # Above the lead unit the role must be named: whoever sends it, a deputy
    # secretary-general's acknowledgement is not the lead unit's to give.
    if (msg.role is not None or rung.level != "lead_unit") and msg.role != rung.level:
        sender = ROLE_LABELS.get(msg.role, msg.role) if msg.role else "牵头单位"
        return (
            f"任务 {state.spec.id} 处于第 {level} 级督办，应由{ROLE_LABELS[rung.level]}确认"
            f"（--role {rung.level}）；{sender}不能确认"
        )
    owner = state.window.owner_unit if state.window else state.spec.lead_unit
    if msg.unit != owner:  # every level acknowledges for the late unit, no other
        return f"{msg.unit}无权确认任务 {state.spec.id} 第 {level} 级督办：逾期的是{owner}"
    if state.held_at_level == level:
        return f"第 {level} 级（{ROLE_LABELS[rung.level]}）已确认此次逾期，无需重复确认"
    return None


def _raise_urgency(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.assigning_unit, msg, "raise_urgency", spec.id)) is not None:
        return reason
    if msg.urgency is None:
        return f"请注明紧急程度：{choices(('important', 'urgent'), URGENCY_LABELS)}"
    if URGENCY_RANK[msg.urgency] <= URGENCY_RANK[state.current_urgency]:
        current = URGENCY_LABELS[state.current_urgency]
        return f"任务 {spec.id} 的紧急程度已是“{current}”，只能提升"
    return None


def _difficulty(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.lead_unit, msg, "difficulty", spec.id)) is not None:
        return reason
    if state.stage not in WORKING:
        return (
            f"{at_stage(spec.id, state.stage)}；"
            f"{MATTER_LABELS['difficulty']}应在{stages(WORKING)}阶段报告"
        )
    if state.difficulty_until is not None and now > state.difficulty_until:
        return f"任务 {spec.id} 报告执行困难的期限已于 {local(state.difficulty_until)} 截止"
    if state.open_matter("difficulty") is not None:
        return f"任务 {spec.id} 已有一项执行困难待办公室答复"
    return None


def _answer_difficulty(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.assigning_unit, msg, "answer_difficulty", spec.id)) is not None:
        return reason
    if state.open_matter("difficulty") is None:
        return f"任务 {spec.id} 没有待答复的执行困难"
    if msg.decision not in DIFFICULTY_ANSWERS:
        return f"答复执行困难须选择{choices(DIFFICULTY_ANSWERS, DECISION_LABELS)}"
    return None


def _resume(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.assigning_unit, msg, "resume", spec.id)) is not None:
        return reason
    if state.suspended_at is None:
        return f"任务 {spec.id} 未暂停执行，无需恢复"
    return None


def _request_extension(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if (reason := _only(spec.lead_unit, msg, "request_extension", spec.id)) is not None:
        return reason
    if state.stage not in WORKING:
        return f"{at_stage(spec.id, state.stage)}；延期应在{stages(WORKING)}阶段申请"
    if msg.until is None:
        return "请注明延期至哪一天（--until YYYY-MM-DD）"
    if state.open_matter("extension") is not None:
        return f"任务 {spec.id} 已有一项延期申请待审批"
    # Days are the office's days, not UTC's: 07:00 in Beijing is the day before in UTC.
    window_day = office_day(state.window.deadline) if state.window else None
    current = state.current_due or window_day
    if current is not None and msg.until <= current:
        return f"延期日期 {msg.until} 不晚于当前时限 {current}"
    if msg.until <= office_day(now):
        return f"延期日期 {msg.until} 不晚于今天"
    return None


def approver(state: TaskState) -> str:
    named = state.spec.policy.extension_approver
    return state.spec.assigning_unit if named == "assigning_unit" else named


def _decide_extension(msg: Message, state: TaskState, now: datetime) -> str | None:
    who = approver(state)
    if (reason := _only(who, msg, "decide_extension", state.spec.id)) is not None:
        return reason
    if state.open_matter("extension") is None:
        return f"任务 {state.spec.id} 没有待审批的延期申请"
    if msg.decision not in EXTENSION_ANSWERS:
        return f"审批延期申请须选择{choices(EXTENSION_ANSWERS, DECISION_LABELS)}"
    return None


def _contribute(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if msg.unit not in spec.co_units:
        return f"{msg.unit}不是任务 {spec.id} 的协办单位"
    if msg.unit not in state.co_received:
        return f"{msg.unit}尚未签收任务 {spec.id}"
    return None


def _disagree(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    if msg.unit != spec.lead_unit and msg.unit not in spec.co_units:
        return f"{msg.unit}不是任务 {spec.id} 的牵头单位或协办单位"
    if state.open_matter("disagreement") is not None:
        return f"任务 {spec.id} 已有一项意见分歧正在协调，请待其解决后再提出"
    return None


def _resolve(msg: Message, state: TaskState, now: datetime) -> str | None:
    spec = state.spec
    matter = state.open_matter("disagreement")
    if matter is None:
        return no_disagreement(spec.id)
    role = matter.ladder[matter.level][0]
    if role == "office" and msg.unit != spec.assigning_unit:
        return (
            f"{msg.unit}无权协调：意见分歧现由{ROLE_LABELS['office']}协调，"
            f"只有{spec.assigning_unit}可以协调"
        )
    if role != "office" and msg.role != role:
        return f"意见分歧现由{ROLE_LABELS[role]}协调（--role {role}）"
    units = {spec.assigning_unit, spec.lead_unit, *spec.co_units}
    if msg.unit not in units:
        return f"{msg.unit}不是任务 {spec.id} 的相关单位，无权协调其意见分歧"
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
