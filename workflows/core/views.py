"""What ops see of a task: the search attributes' values and the Web UI's current details,
both in the office's words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.contracts import TaskSnapshot, TaskState
from workflows.names import CLIMB_EVENTS
from workflows.policy import ROLE_LABELS
from workflows.windows import LABELS, LIGHT_LABELS, STAGE_LABELS, URGENCY_LABELS, local


@dataclass(frozen=True)
class View:
    values: dict[str, object]  # what the search attributes say; upserted when it changes
    details: str  # the current details, markdown


def view(s: TaskState, now: datetime) -> View:
    light = s.light(now)
    values: dict[str, object] = {
        "stage": s.stage.value,
        "level": s.escalation_level,
        "deadline": s.next_deadline,
        "light": light,
        "urgency": s.current_urgency,
        "fallback": s.fallback,
    }
    return View(values, details(s, light))


def deadline_label(s: TaskState) -> str:
    """What the next deadline is for: during a climb the level's answer, else the window."""
    if s.window is None:
        return "—"
    if s.escalation_level and s.level_deadline is not None:
        ladder = s.spec.policy.ladder_for(s.current_urgency)
        rung = ladder[min(s.escalation_level, len(ladder)) - 1]
        return f"{ROLE_LABELS[rung.level]}答复"
    return LABELS[s.window.name]


def details(s: TaskState, light: str) -> str:
    """The task's story so far, as the Web UI's current details show it."""
    deadline = local(s.next_deadline) if s.next_deadline else "—"
    rule = f"（{s.window.rule}）" if s.window and not s.escalation_level else ""
    lines = [
        f"**阶段** {STAGE_LABELS[s.stage.value]}　**灯色** {LIGHT_LABELS[light]}"
        f"　**紧急程度** {URGENCY_LABELS[s.current_urgency]}",
        f"**当前时限** {deadline_label(s)} {deadline}{rule}",
        f"**升级层级** {s.escalation_level}　**逾期次数** {s.misses}",
    ]
    if s.escalation_level and s.window is not None:
        lines.append(f"**已逾期** {LABELS[s.window.name]}（应于 {local(s.window.deadline)} 前）")
    told = next((e for e in reversed(s.events) if e.kind in CLIMB_EVENTS), None)
    if told is not None and s.escalation_level:
        ladder = s.spec.policy.ladder_for(s.current_urgency)
        rung = ladder[min(told.level, len(ladder)) - 1]
        lines.append(f"**已通知** {ROLE_LABELS[rung.level]}（第 {told.level} 级）")
    if s.last_report:
        lines.append(f"**最近报告** {s.last_report[:80]}")
    if s.suspended_at is not None:
        lines.append(f"**已暂停** 自 {local(s.suspended_at)}")
    if s.fallback:
        lines.append("**日历** 无官方日历，按周一至周五推算")
    return "  \n".join(lines)


def snapshot(s: TaskState) -> TaskSnapshot:
    """The task row the ledger keeps, as of the last event not yet recorded."""
    now = s.unrecorded[-1].at
    return TaskSnapshot(
        spec=s.spec,
        stage=s.stage,
        escalation_level=s.escalation_level,
        next_deadline=s.next_deadline,
        updated_at=now,
        light=s.light(now),
        urgency=s.current_urgency,
        due=s.current_due,
        fallback=s.fallback,
    )
