"""The `duban task ...` commands against Temporal: start, send a message, show, list."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from starter.taskfile import load_task
from workflows.contracts import TERMINAL_STAGES, Accepted, Envelope, Message, TaskState
from workflows.effects import LEAD_UNIT, LIGHT, STAGE
from workflows.errors import DubanError
from workflows.task import TaskWorkflow
from workflows.windows import OFFICE_TZ, local


def today() -> date:
    return datetime.now(OFFICE_TZ).date()


async def start_task(client: Client, path: Path, task_queue: str, by: str) -> str:
    from workflows.contracts import TaskStart

    spec = load_task(path, today())
    due = str(spec.due) if spec.due else "无"
    details = (
        f"**来源** {spec.source}  \n**交办单位** {spec.assigning_unit}  \n"
        f"**牵头单位** {spec.lead_unit}  \n**协办单位** {'、'.join(spec.co_units) or '无'}  \n"
        f"**工作标准** {spec.standard}  \n**完成时限** {due}  \n**紧急程度** {spec.urgency}"
    )
    try:
        await client.start_workflow(
            TaskWorkflow.run,
            TaskStart(spec=spec, assigned_by=by),
            id=spec.id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            static_summary=f"{spec.title}｜牵头 {spec.lead_unit}｜时限 {due}",
            static_details=details,
            memo={"title": spec.title},
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(STAGE, "assigned"),
                    SearchAttributePair(LEAD_UNIT, spec.lead_unit),
                ]
            ),
        )
    except WorkflowAlreadyStartedError as err:
        raise DubanError(f"{path}: task {spec.id} already exists; nothing started") from err
    return spec.id


async def _handle(client: Client, task_id: str) -> WorkflowHandle[Any, Any]:
    handle = client.get_workflow_handle(task_id)
    try:
        await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise DubanError(f"no task {task_id}") from err
        raise
    return handle


async def send_message(
    client: Client, task_id: str, action: str, message: Message, as_signal: bool
) -> Accepted | None:
    handle = await _handle(client, task_id)
    description = await handle.describe()
    if description.status != WorkflowExecutionStatus.RUNNING:
        state = await _query(handle)
        stage = state.stage.value if state else description.status.name.lower()  # type: ignore[union-attr]
        raise DubanError(f"task {task_id} is {stage}; it takes no more messages")
    if as_signal:
        await handle.signal(TaskWorkflow.message, Envelope(action=action, message=message))
        return None
    try:
        result: Accepted = await handle.execute_update(action, message, result_type=Accepted)
    except WorkflowUpdateFailedError as err:
        reason = getattr(err.cause, "message", None) or str(err.cause)
        raise DubanError(f"refused: {reason}") from err
    return result


async def _query(handle: WorkflowHandle[Any, Any]) -> TaskState | None:
    try:
        state: TaskState = await handle.query(TaskWorkflow.status)
    except RPCError:
        return None
    return state


async def show(client: Client, task_id: str) -> tuple[TaskState, str | None]:
    """The task's state, and the run that answered (the latest, after a continue-as-new)."""
    handle = await _handle(client, task_id)
    state = await _query(handle)
    if state is None:
        raise DubanError(f"task {task_id}: no worker answered; is `duban up` running?")
    return state, (await handle.describe()).run_id


def show_json(state: TaskState, run_id: str | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": state.spec.id,
        "run_id": run_id,
        "title": state.spec.title,
        "stage": state.stage.value,
        "light": state.light(now),
        "urgency": state.current_urgency,
        "due": state.current_due.isoformat() if state.current_due else None,
        "suspended_since": state.suspended_at.isoformat() if state.suspended_at else None,
        "calendar_fallback": state.fallback,
        "deadlines": explain_deadlines(state),
        "matters": [m.model_dump(mode="json") for m in state.matters],
        "lead_unit": state.spec.lead_unit,
        "escalation_level": state.escalation_level,
        "next_deadline": state.next_deadline.isoformat() if state.next_deadline else None,
        "window": state.window.model_dump(mode="json") if state.window else None,
        "misses": state.misses,
        "last_report": state.last_report,
        "rework_reason": state.rework_reason,
        "events": [e.model_dump(mode="json") for e in state.events],
        "notifications": [n.model_dump(mode="json") for n in state.notifications],
        "spec": state.spec.model_dump(mode="json"),
    }


def explain_deadlines(state: TaskState) -> list[dict[str, Any]]:
    """Every pending deadline with the rule that set it and the calendar it was counted on."""
    out: list[dict[str, Any]] = []
    w = state.window
    if w is not None and state.stage not in TERMINAL_STAGES:
        out.append(
            {
                "what": f"{w.name}: {w.awaiting} from {w.owner_unit}",
                "at": w.deadline.isoformat(),
                "rule": w.rule,
                "fallback": w.fallback,
                "missed": w.missed,
                "warn_at": w.warn_at.isoformat() if w.warn_at else None,
            }
        )
        if state.escalation_level and state.level_deadline:
            out.append(
                {
                    "what": f"level {state.escalation_level} answer",
                    "at": state.level_deadline.isoformat(),
                    "rule": "the ladder's answer window",
                    "fallback": w.fallback,
                    "missed": False,
                }
            )
    for m in state.matters:
        if not m.resolved and m.deadline is not None:
            role = m.ladder[m.level][0]
            out.append(
                {
                    "what": f"{m.kind} raised by {m.raised_by}: {role} answers",
                    "at": m.deadline.isoformat(),
                    "rule": m.rule,
                    "fallback": "FALLBACK" in m.rule,
                    "missed": m.missed,
                }
            )
    return out


def show_text(state: TaskState) -> str:
    s = state.spec
    light = state.light(datetime.now(UTC))
    lines = [
        f"{s.id}  {s.title}",
        f"  stage       {state.stage.value}   light {paint(light)}   "
        f"urgency {state.current_urgency}",
        f"  lead unit   {s.lead_unit}   co-units {'、'.join(s.co_units) or '-'}",
        f"  escalation  level {state.escalation_level}   misses {state.misses}",
    ]
    if state.suspended_at:
        lines.append(f"  suspended   since {local(state.suspended_at)}: every clock stands still")
    lines.append("  deadlines")
    for d in explain_deadlines(state):
        flag = "  [FALLBACK calendar]" if d["fallback"] else ""
        missed = "  MISSED" if d["missed"] else ""
        at = local(datetime.fromisoformat(d["at"]))
        lines.append(f"    {at}  {d['what']}{missed}{flag}")
        lines.append(f"               {d['rule']}")
    lines.append("  events")
    for e in state.events:
        who = " ".join(x for x in (e.unit, e.by) if x)
        lines.append(f"    {e.seq:>3} {local(e.at)}  {e.kind:<20} {who}  {e.detail}".rstrip())
    if state.notifications:
        lines.append("  notifications")
        for n in state.notifications:
            lines.append(f"    #{n.seq} {n.role} ({n.unit}) via {n.channel}: {n.status}")
    return "\n".join(lines)


def _quoted(value: str) -> str:
    if "'" in value or "\\" in value:
        raise DubanError(f"filter value {value!r} may not contain quotes or backslashes")
    return f"'{value}'"


def list_query(stage: str | None, unit: str | None, overdue: bool, light: str | None = None) -> str:
    parts = ["WorkflowType = 'TaskWorkflow'"]
    if stage:
        parts.append(f"TaskStage = {_quoted(stage)}")
    if unit:
        parts.append(f"(LeadUnit = {_quoted(unit)} OR CoUnits = {_quoted(unit)})")
    if light:
        if light not in ("green", "yellow", "red", "grey"):
            raise DubanError(f"--light {light!r}: use green, yellow, red or grey")
        parts.append(f"Light = {_quoted(light)}")
    if overdue:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(f"(EscalationLevel > 0 OR NextDeadline < '{now}')")
    return " AND ".join(parts)


async def list_tasks(
    client: Client, stage: str | None, unit: str | None, overdue: bool, light: str | None = None
) -> list[dict[str, Any]]:
    rows = []
    async for wf in client.list_workflows(list_query(stage, unit, overdue, light)):
        attrs = wf.typed_search_attributes
        deadline = attrs.get(SearchAttributeKey.for_datetime("NextDeadline"))
        rows.append(
            {
                "id": wf.id,
                "title": await wf.memo_value("title", ""),
                "stage": attrs.get(STAGE),
                "lead_unit": attrs.get(LEAD_UNIT),
                "escalation_level": attrs.get(SearchAttributeKey.for_int("EscalationLevel")) or 0,
                "light": attrs.get(LIGHT),
                "next_deadline": deadline.isoformat() if deadline else None,
                "status": wf.status.name.lower() if wf.status else None,
            }
        )
    return rows


COLOURS = {"green": "32", "yellow": "33", "red": "31", "grey": "90"}


def paint(light: str | None) -> str:
    """The light in its colour on a terminal, plain elsewhere."""
    text = light or "-"
    if light in COLOURS and sys.stdout.isatty():
        return f"\033[{COLOURS[light]}m{text}\033[0m"
    return text


def list_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no tasks"
    out = []
    for r in rows:
        deadline = local(datetime.fromisoformat(r["next_deadline"])) if r["next_deadline"] else "-"
        light = paint(r.get("light")) + " " * (7 - len(r.get("light") or "-"))
        out.append(
            f"{r['id']:<24} {r['stage'] or '-':<12} {light} L{r['escalation_level']} "
            f"{deadline:<16} {r['lead_unit'] or '-'}  {r['title']}"
        )
    return "\n".join(out)


def history_text(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'#':>3}  {'when':<16}  {'what':<20} {'unit':<12} {'who':<8} detail"]
    for r in rows:
        lines.append(
            f"{r['seq']:>3}  {local(r['at']):<16}  {r['kind']:<20} {r['unit'] or '-':<12} "
            f"{r['actor'] or '-':<8} {r['detail']}".rstrip()
        )
    return "\n".join(lines)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
