"""Which window each stage waits on, what opens it, and how it reads in the Web UI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from workflows.contracts import Stage, TaskState

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


@dataclass(frozen=True)
class WindowPlan:
    name: str  # a window of the policy, or "due"
    awaiting: str
    owner_unit: str
    anchor_kind: str  # the event whose time opens the window


PLANS: dict[Stage, WindowPlan] = {
    Stage.ASSIGNED: WindowPlan("receive", "receipt (签收)", "lead", "assigned"),
    Stage.RECEIVED: WindowPlan("deploy", "deployment (部署)", "lead", "received"),
    Stage.DEPLOYED: WindowPlan("plan", "plan report (计划)", "lead", "received"),
    Stage.PLANNED: WindowPlan("progress", "status report (进展)", "lead", "received"),
    Stage.IN_PROGRESS: WindowPlan("stage_every", "staged or completion report", "lead", "stage"),
    Stage.COMPLETED: WindowPlan(
        "verify", "verification (核实销号)", "assigning", "reported_completion"
    ),
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


def local(at: datetime) -> str:
    return at.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
