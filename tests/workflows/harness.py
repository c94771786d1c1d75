"""Run TaskWorkflow on the time-skipping server with the real activities and ledger."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import asyncpg
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.converter import PayloadConverter
from temporalio.worker import Worker

from tests.policies import HOURLY
from worker.main import STRICT, build_worker
from worker.settings import Settings
from workflows.contracts import Accepted, Event, Message, TaskSpec, TaskStart, TaskState
from workflows.policy import Policy
from workflows.task import TaskWorkflow

LEAD = "区司法局"
OFFICE = "区政府办公室"


def make_spec(policy: Policy = HOURLY, due: date | None = None, **fields: Any) -> TaskSpec:
    values: dict[str, Any] = {
        "id": f"T-test-{uuid.uuid4().hex[:10]}",
        "title": "完善行政执法协调机制",
        "source": "区政府常务会议纪要〔2026〕12号",
        "assigning_unit": OFFICE,
        "lead_unit": LEAD,
        "co_units": ["区财政局", "区人社局"],
        "standard": "形成协调办法并印发",
        "due": due,
        "urgency": "normal",
        "policy": policy,
    }
    values.update(fields)
    return TaskSpec.model_validate(values)


@contextlib.asynccontextmanager
async def running_worker(
    client: Client,
    pool: asyncpg.Pool,
    task_queue: str,
    webhook_url: str | None,
    **channels: Any,
) -> AsyncIterator[Worker]:
    """A worker with the real activities; `channels` are further settings (wecom_url, ...).
    Its sandbox guards every call of the workflow's own modules (the worker's shares them
    unguarded: worker.main.SANDBOX); the HTTP and end-to-end tests run the worker's."""
    settings = Settings(task_queue=task_queue, webhook_url=webhook_url, **channels)
    async with build_worker(client, pool, settings, runner=STRICT) as worker:
        yield worker


async def start(client: Client, spec: TaskSpec, task_queue: str) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        TaskWorkflow.run, TaskStart(spec=spec), id=spec.id, task_queue=task_queue
    )


def msg(unit: str = LEAD, by: str = "张三", **fields: Any) -> Message:
    return Message(unit=unit, by=by, **fields)


async def send(handle: WorkflowHandle[Any, Any], action: str, message: Message) -> Accepted:
    result: Accepted = await handle.execute_update(action, message, result_type=Accepted)
    return result


async def status(handle: WorkflowHandle[Any, Any]) -> TaskState:
    state: TaskState = await handle.query(TaskWorkflow.status)
    return state


async def eventually(check: Any, timeout: float = 20.0) -> Any:
    """Poll an async check until it returns a truthy value (activities run in real time)."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: last value {value!r}")
        await asyncio.sleep(0.1)


async def at_level(handle: WorkflowHandle[Any, Any], level: int) -> TaskState:
    async def check() -> TaskState | None:
        state = await status(handle)
        return state if state.escalation_level == level and not state.unrecorded else None

    result: TaskState = await eventually(check)
    return result


async def activities_closed(handle: WorkflowHandle[Any, Any]) -> bool:
    """Every activity the workflow scheduled has completed, failed, timed out or cancelled."""
    history = await handle.fetch_history()
    scheduled = sum(e.HasField("activity_task_scheduled_event_attributes") for e in history.events)
    closed = sum(
        e.HasField(f"activity_task_{end}_event_attributes")
        for e in history.events
        for end in ("completed", "failed", "timed_out", "canceled")
    )
    return scheduled == closed


async def finish(handle: WorkflowHandle[Any, Any]) -> None:
    """Terminate once nothing is in flight: terminating a workflow while one of its
    activities runs leaves the time-skipping server's shared clock locked, and a later
    test's sleep times out."""

    async def idle() -> bool:
        state = await status(handle)
        return not state.unrecorded and await activities_closed(handle)

    await eventually(idle)
    await handle.terminate()


async def refused(handle: object, action: str, message: Message) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await send(handle, action, message)  # type: ignore[arg-type]
    return str(info.value.cause.message)  # type: ignore[union-attr]


async def settled(
    handle: WorkflowHandle[Any, Any], ready: Callable[[TaskState], bool] = lambda s: True
) -> TaskState:
    """The state once every event is in the ledger and `ready` holds."""

    async def check() -> TaskState | None:
        state = await status(handle)
        return state if not state.unrecorded and ready(state) else None

    result: TaskState = await eventually(check)
    return result


def kinds(state: TaskState) -> list[str]:
    return [e.kind for e in state.events]


def last(state: TaskState, kind: str) -> Event:
    return [e for e in state.events if e.kind == kind][-1]


async def attribute(client: Client, handle: WorkflowHandle[Any, Any], name: str, want: str) -> None:
    """Poll a keyword search attribute until it reads `want` (visibility lags a little).

    Read from the raw description: the time-skipping server keeps an unset attribute
    (NextDeadline while suspended) as a null payload that `handle.describe()` cannot decode.
    """

    async def check() -> bool:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=handle.id),
            )
        )
        fields = described.workflow_execution_info.search_attributes.indexed_fields
        return name in fields and PayloadConverter.default.from_payload(fields[name]) == want

    await eventually(check)


def marker_data(events: list[Any], marker: str, key: str) -> list[Any]:
    """The JSON under `key` of every marker named `marker` in a history, in order: the SDK
    core writes a patch's id and a local activity's type there, with no codec."""
    return [
        json.loads(e.marker_recorded_event_attributes.details[key].payloads[0].data)
        for e in events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == marker
    ]
