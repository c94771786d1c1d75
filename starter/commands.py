"""The `duban task ...` commands against Temporal: start, send a message, show, list."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from starter.taskfile import load_task
from workflows.contracts import (
    ASSIGNING_UNIT,
    CO_UNITS,
    LEAD_UNIT,
    LEVEL,
    LIGHT,
    NEXT_DEADLINE,
    STAGE,
    TERMINAL_STAGES,
    URGENCY,
    URGENCY_RANK,
    Accepted,
    Envelope,
    Message,
    TaskSpec,
    TaskStart,
    TaskState,
)
from workflows.errors import DubanError
from workflows.names import Action, Stage
from workflows.task import TaskWorkflow
from workflows.windows import OFFICE_TZ, local


def today() -> date:
    return datetime.now(OFFICE_TZ).date()


class NoSuchTask(DubanError):
    """No task has this id."""


class TaskExists(DubanError):
    """A task with this id was started before."""


async def start_task(client: Client, path: Path, task_queue: str, by: str) -> str:
    spec = load_task(path, today())
    try:
        return await start_spec(client, spec, task_queue, by)
    except TaskExists as err:
        raise TaskExists(f"{path}: {err}") from err


async def start_spec(client: Client, spec: TaskSpec, task_queue: str, by: str) -> str:
    """Start the task's workflow; TaskExists when its id was used before."""
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
            search_attributes=initial_search_attributes(spec),
        )
    except WorkflowAlreadyStartedError as err:
        raise TaskExists(f"task {spec.id} already exists; nothing started") from err
    return spec.id


def initial_search_attributes(spec: TaskSpec) -> TypedSearchAttributes:
    """Everything a new task is found by from its first moment: its units, stage and urgency.
    The workflow keeps stage, light and deadline current; the units never change."""
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(STAGE, Stage.ASSIGNED.value),
        SearchAttributePair(LEAD_UNIT, spec.lead_unit),
        SearchAttributePair(ASSIGNING_UNIT, spec.assigning_unit),
        SearchAttributePair(URGENCY, spec.urgency),
    ]
    if spec.co_units:
        pairs.append(SearchAttributePair(CO_UNITS, list(spec.co_units)))
    return TypedSearchAttributes(pairs)


# Each message a person sends, and the workflow's update that takes it: the command line
# and the HTTP service send through this one table.
UPDATES: dict[Action, UpdateMethodMultiParam[[TaskWorkflow, Message], Accepted]] = {
    Action.RECEIVE: TaskWorkflow.receive,
    Action.DEPLOY: TaskWorkflow.deploy,
    Action.REPORT: TaskWorkflow.report,
    Action.VERIFY: TaskWorkflow.verify,
    Action.REJECT: TaskWorkflow.reject,
    Action.ACK: TaskWorkflow.ack,
    Action.WITHDRAW: TaskWorkflow.withdraw,
    Action.RAISE_URGENCY: TaskWorkflow.raise_urgency,
    Action.DIFFICULTY: TaskWorkflow.difficulty,
    Action.ANSWER_DIFFICULTY: TaskWorkflow.answer_difficulty,
    Action.RESUME: TaskWorkflow.resume,
    Action.REQUEST_EXTENSION: TaskWorkflow.request_extension,
    Action.DECIDE_EXTENSION: TaskWorkflow.decide_extension,
    Action.CONTRIBUTE: TaskWorkflow.contribute,
    Action.DISAGREE: TaskWorkflow.disagree,
    Action.RESOLVE: TaskWorkflow.resolve,
}


# A sender whose message the server turns away for load (more updates in flight on the
# task than Temporal keeps: history.maxInFlightUpdates, 10 by default) waits and tries
# again, with the same update id, so a retry is the same message, answered once. The waits
# double from BUSY_FIRST_WAIT up to BUSY_MAX_WAIT, each drawn at random below that bound
# ("full jitter": senders turned away together do not all come back together), and no new
# try starts after BUSY_FOR seconds. A try turned away may still have left the update with
# the task (an earlier try of the same id admitted, a refusal after it): the task is asked
# then, and an update it holds is waited for up to BUSY_HELD_WAIT more seconds. One it does
# not hold is "busy, not delivered" (and is not taken later); one it holds but has not
# answered is "busy, delivered, not yet handled": Temporal keeps an update durably only
# once the workflow accepts it, so the sender is told to look at the record before
# sending it again.
BUSY_FOR = 30.0
BUSY_FIRST_WAIT = 0.5
BUSY_MAX_WAIT = 8.0
BUSY_HELD_WAIT = 10.0


class TaskBusy(DubanError):
    """The task had more messages at once than it takes, for longer than a sender waits.
    `delivered`: the task held the message when last asked, but had not handled it."""

    def __init__(self, task_id: str, delivered: bool = False) -> None:
        if delivered:
            reason = (
                f"任务 {task_id} 正忙：消息已送达、尚未办理，请稍后查看任务记录，未见记录再重发"
            )
        else:
            reason = f"任务 {task_id} 正忙：同一时间送来的消息太多，未能送达，请一分钟后再试"
        super().__init__(reason)
        self.delivered = delivered


def turned_away(err: RPCError) -> bool:
    """Temporal turned the update away for load: too many in flight on the task
    (RESOURCE_EXHAUSTED), or aborted with the others it held when it turned one away, or
    because no worker took the task's workflow task in time (UNAVAILABLE, "workflow update
    was aborted"). The SDK has retried both for some seconds already; sending it again with
    the same id is safe, as the same update is answered once."""
    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return True
    return err.status == RPCStatusCode.UNAVAILABLE and "update was aborted" in err.message


async def send_message(
    client: Client,
    task_id: str,
    action: Action | str,
    message: Message,
    as_signal: bool = False,
    update_id: str | None = None,
    busy_for: float = BUSY_FOR,
) -> Accepted | None:
    """Send the message as the update `action` (or a signal) in one call, straight to the
    task; only when Temporal says no is the task looked at, to say why. Every update has an
    id (`update_id`, the HTTP API's Idempotency-Key, or a new one), so a retry of the same
    update is answered once; a task too busy to take it is tried again for `busy_for`
    seconds, then TaskBusy."""
    try:
        kind = Action(action)
    except ValueError:
        raise DubanError(f"no message {action!r}: one of {', '.join(UPDATES)}") from None
    handle: WorkflowHandle[TaskWorkflow, TaskState] = client.get_workflow_handle(task_id)
    update_id = update_id or f"{kind.value}-{uuid.uuid4()}"
    loop = asyncio.get_running_loop()
    give_up = loop.time() + busy_for
    attempt = 0
    while True:
        try:
            return await _send_once(handle, task_id, kind, message, as_signal, update_id)
        except RPCError as err:
            if not turned_away(err):
                raise
            if as_signal:
                if loop.time() > give_up:
                    raise TaskBusy(task_id) from err
            elif loop.time() > give_up:
                return await _held(handle, task_id, kind, update_id)
            await asyncio.sleep(random.uniform(0, min(BUSY_MAX_WAIT, BUSY_FIRST_WAIT * 2**attempt)))
            attempt += 1


async def _held(
    handle: WorkflowHandle[TaskWorkflow, TaskState], task_id: str, kind: Action, update_id: str
) -> Accepted:
    """The answer to an update turned away on its last try that the task holds after all
    (an earlier try's), waited for up to BUSY_HELD_WAIT seconds; TaskBusy when it holds
    none (nothing was delivered) or has not answered in that time (delivered, queued)."""
    update = handle.get_update_handle_for(UPDATES[kind], update_id)
    try:
        return await update.result(rpc_timeout=timedelta(seconds=BUSY_HELD_WAIT))
    except WorkflowUpdateFailedError as err:
        reason = getattr(err.cause, "message", None) or str(err.cause)
        raise DubanError(f"refused: {reason}") from err
    except WorkflowUpdateRPCTimeoutOrCancelledError as err:
        raise TaskBusy(task_id, delivered=True) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise TaskBusy(task_id) from err
        raise


async def _send_once(
    handle: WorkflowHandle[TaskWorkflow, TaskState],
    task_id: str,
    kind: Action,
    message: Message,
    as_signal: bool,
    update_id: str,
) -> Accepted | None:
    try:
        if as_signal:
            await handle.signal(TaskWorkflow.message, Envelope(action=kind, message=message))
            return None
        return await handle.execute_update(UPDATES[kind], message, id=update_id)
    except WorkflowUpdateFailedError as err:
        reason = getattr(err.cause, "message", None) or str(err.cause)
        raise DubanError(f"refused: {reason}") from err
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        raise await _not_running(handle, task_id) from err


async def _not_running(handle: WorkflowHandle[Any, Any], task_id: str) -> DubanError:
    """Why a task took no message: there is no such task, or it is over."""
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return NoSuchTask(f"no task {task_id}")
        raise
    state = await _query(handle)
    if state is not None:
        over = state.stage.value  # closed or withdrawn
    else:  # ended by other means (terminated, timed out) or no worker to ask
        over = description.status.name.lower() if description.status else "over"
    return DubanError(f"task {task_id} is {over}; it takes no more messages")


async def _query(handle: WorkflowHandle[Any, Any]) -> TaskState | None:
    try:
        state: TaskState = await handle.query(TaskWorkflow.status)
    except RPCError:
        return None
    return state


async def show(client: Client, task_id: str) -> tuple[TaskState, str | None]:
    """The task's state, and the run that answered (the latest, after a continue-as-new)."""
    handle = client.get_workflow_handle(task_id)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NoSuchTask(f"no task {task_id}") from err
        raise
    state = await _query(handle)
    if state is None:
        raise DubanError(f"task {task_id}: no worker answered; is `duban up` running?")
    return state, description.run_id


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
                    "fallback": "按周一至周五推算" in m.rule,
                    # The level answering now has missed only once its own deadline
                    # passed; `m.missed` says a level below missed before it.
                    "missed": m.deadline < datetime.now(UTC),
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


def list_query(
    stage: str | None,
    unit: str | None,
    overdue: bool,
    light: str | None = None,
    assigning_unit: str | None = None,
    urgency: str | None = None,
) -> str:
    parts = ["WorkflowType = 'TaskWorkflow'"]
    if stage:
        parts.append(f"{STAGE.name} = {_quoted(stage)}")
    if unit:
        parts.append(f"({LEAD_UNIT.name} = {_quoted(unit)} OR {CO_UNITS.name} = {_quoted(unit)})")
    if assigning_unit:
        parts.append(f"{ASSIGNING_UNIT.name} = {_quoted(assigning_unit)}")
    if urgency:
        if urgency not in URGENCY_RANK:
            raise DubanError(f"--urgency {urgency!r}: use normal, important or urgent")
        parts.append(f"{URGENCY.name} = {_quoted(urgency)}")
    if light:
        if light not in ("green", "yellow", "red", "grey"):
            raise DubanError(f"--light {light!r}: use green, yellow, red or grey")
        parts.append(f"{LIGHT.name} = {_quoted(light)}")
    if overdue:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts.append(f"({LEVEL.name} > 0 OR {NEXT_DEADLINE.name} < '{now}')")
    return " AND ".join(parts)


async def list_tasks(
    client: Client,
    stage: str | None,
    unit: str | None,
    overdue: bool,
    light: str | None = None,
    assigning_unit: str | None = None,
    urgency: str | None = None,
) -> list[dict[str, Any]]:
    rows = []
    query = list_query(stage, unit, overdue, light, assigning_unit, urgency)
    async for wf in client.list_workflows(query):
        attrs = wf.typed_search_attributes
        deadline = attrs.get(NEXT_DEADLINE)
        rows.append(
            {
                "id": wf.id,
                "title": await wf.memo_value("title", ""),
                "stage": attrs.get(STAGE),
                "lead_unit": attrs.get(LEAD_UNIT),
                "co_units": attrs.get(CO_UNITS) or [],
                "assigning_unit": attrs.get(ASSIGNING_UNIT),
                "urgency": attrs.get(URGENCY),
                "escalation_level": attrs.get(LEVEL) or 0,
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
