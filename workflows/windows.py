"""Which window each stage waits on, what opens it, and how it reads in the Web UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from workflows.contracts import Stage, TaskState
from workflows.names import Action

# Asia/Shanghai has kept UTC+8 without daylight saving since 1991: a fixed offset is exact
# and keeps the workflow free of time-zone files.
OFFICE_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

LABELS = {
    "receive": "签收",
    "deploy": "部署",
    "plan": "计划反馈",
    "progress": "进展反馈",
    "stage_every": "阶段进展反馈",
    "verify": "核实销号",
    "due": "完成时限",
    "difficulty": "执行困难答复",
    "extension": "延期审批",
    "disagreement": "分歧协调",
}


# What each window expects of its owner, as a notice says it: 「应于 … 前{expected}」.
EXPECTED = {
    "receive": "签收",
    "deploy": "报送部署情况",
    "plan": "报送实施计划",
    "progress": "报送进展情况",
    "stage_every": "报送阶段进展或完成情况",
    "verify": "核实销号",
    "due": "办结",
}

# How a stage, a light and an urgency read to a person.
STAGE_LABELS = {
    "assigned": "待签收",
    "received": "已签收",
    "deployed": "已部署",
    "planned": "已报计划",
    "in_progress": "推进中",
    "completed": "待核实",
    "closed": "已办结",
    "withdrawn": "已撤回",
}
LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "grey": "灰灯"}
URGENCY_LABELS = {"normal": "一般", "important": "重要", "urgent": "紧急"}
# How a matter reads in a notice: 「区司法局提出执行困难」.
MATTER_LABELS = {"difficulty": "执行困难", "extension": "延期申请", "disagreement": "意见分歧"}
# What each message asks the task to do, as a refusal says it: 「区财政局无权签收」,
# 「拒绝签收：…」.
ACTION_LABELS: dict[str, str] = {
    Action.RECEIVE: "签收",
    Action.DEPLOY: "报送部署情况",
    Action.REPORT: "报送报告",
    Action.VERIFY: "核实销号",
    Action.REJECT: "退回重办",
    Action.ACK: "确认督办",
    Action.WITHDRAW: "撤回任务",
    Action.RAISE_URGENCY: "提升紧急程度",
    Action.DIFFICULTY: "报告执行困难",
    Action.ANSWER_DIFFICULTY: "答复执行困难",
    Action.RESUME: "恢复执行",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "审批延期申请",
    Action.CONTRIBUTE: "报送协办情况",
    Action.DISAGREE: "提出意见分歧",
    Action.RESOLVE: "协调意见分歧",
}
# A report of each kind: 「计划报告应在“已部署”阶段报送」.
REPORT_LABELS = {"plan": "计划报告", "progress": "进展报告", "completion": "完成报告"}
# How the office's answer to a difficulty, and the approver's to a request for more time,
# read in the record and in a refusal.
DECISION_LABELS = {
    "continue": "继续执行",
    "suspend": "暂停执行",
    "new_approach": "调整思路",
    "approve": "同意",
    "refuse": "不同意",
}


@dataclass(frozen=True)
class WindowPlan:
    name: str  # a window of the policy, or "due"
    awaiting: str
    owner_unit: str
    anchor_kind: str  # the event whose time opens the window


PLANS: dict[Stage, WindowPlan] = {
    Stage.ASSIGNED: WindowPlan("receive", EXPECTED["receive"], "lead", "assigned"),
    Stage.RECEIVED: WindowPlan("deploy", EXPECTED["deploy"], "lead", "received"),
    Stage.DEPLOYED: WindowPlan("plan", EXPECTED["plan"], "lead", "received"),
    Stage.PLANNED: WindowPlan("progress", EXPECTED["progress"], "lead", "received"),
    Stage.IN_PROGRESS: WindowPlan("stage_every", EXPECTED["stage_every"], "lead", "stage"),
    Stage.COMPLETED: WindowPlan("verify", EXPECTED["verify"], "assigning", "reported_completion"),
}


ANCHOR_KINDS: dict[str, tuple[str, ...]] = {
    "stage": ("reported_progress", "rejected", "reported_plan"),
    # A new approach (S0 §3) opens the plan and status windows afresh.
    "received": ("received", "new_approach"),
}
ANCHORS = frozenset(k for kinds in ANCHOR_KINDS.values() for k in kinds) | {
    "assigned",
    "reported_completion",
}


def anchor(state: TaskState, plan: WindowPlan) -> datetime:
    """When the window opened: the latest event of its anchor kind."""
    kinds = ANCHOR_KINDS.get(plan.anchor_kind, (plan.anchor_kind,))
    times = [state.anchors[k] for k in kinds if k in state.anchors]
    if times:
        return max(times)
    for event in reversed(state.events):  # state recorded before anchors were kept
        if event.kind in kinds:
            return event.at
    return state.events[0].at


def owner(state: TaskState, plan: WindowPlan) -> str:
    return state.spec.assigning_unit if plan.owner_unit == "assigning" else state.spec.lead_unit


def office_day(at: datetime) -> date:
    """The office's calendar day at `at`: a day is the office's, never UTC's."""
    return at.astimezone(OFFICE_TZ).date()


def local(at: datetime) -> str:
    return at.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
