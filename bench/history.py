"""Scenario 5: how big a task's history grows, on the time-skipping test server (a year in
seconds) with duban's real worker, activities and ledger.

- A whole default-policy life: assigned, the receive window missed twice (level 1, then
  the deputy secretary-general), then received, deployed, planned, reported, completed,
  verified and closed.
- A year of staged reports, then completion: a progress report every week (more often than
  the policy's 10 working days), and one every weekday, which takes the task past the
  policy's history limit (2,000 events) so that it continues as new. Every run of the
  chain is counted; none may exceed 4,096 events.

Bare: a workflow that records one row and completes, for scale."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bench import bare as bare_wf
from bench.bare_worker import bare_worker
from bench.stack import Stack
from bench.tasks import OFFICE, lead, spec, start_task
from starter.stack import _binary
from worker.client import DATA_CONVERTER
from worker.main import build_worker
from worker.settings import Settings
from workflows.contracts import SEARCH_ATTRIBUTES, Message, TaskState
from workflows.policy import BUILTIN
from workflows.task import TaskWorkflow

LIMIT = 4096


@contextlib.asynccontextmanager
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    try:
        attributes = {
            key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
            for key in SEARCH_ATTRIBUTES
        }
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace="default", search_attributes=attributes)
        )
        yield env
    finally:
        await env.shutdown()


async def _state(client: Client, task_id: str) -> TaskState:
    state: TaskState = await client.get_workflow_handle(task_id).query(TaskWorkflow.status)
    return state


async def _send(client: Client, task_id: str, action: str, msg: Message) -> None:
    await client.get_workflow_handle(task_id).execute_update(action, msg)


async def _runs(client: Client, task_id: str) -> list[dict[str, int]]:
    """Events and bytes of each run, first to last: from the latest run back along the
    continue-as-new chain (each run's first event names the run it continues)."""
    runs: list[dict[str, int]] = []
    run_id: str | None = None
    while True:
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(task_id, run_id=run_id)
        history = await handle.fetch_history()
        runs.insert(
            0, {"events": len(history.events), "bytes": sum(e.ByteSize() for e in history.events)}
        )
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return runs


def _totals(runs: list[dict[str, int]]) -> dict[str, Any]:
    return {
        "runs": len(runs),
        "events": sum(r["events"] for r in runs),
        "bytes": sum(r["bytes"] for r in runs),
        "max_run_events": max(r["events"] for r in runs),
    }


async def _life(env: WorkflowEnvironment, queue: str) -> dict[str, Any]:
    client, task_id = env.client, f"LIFE-{uuid.uuid4().hex[:8]}"
    await start_task(client, spec(task_id, BUILTIN["default"]), queue)
    for _ in range(200):  # half-days until the second escalation
        await env.sleep(timedelta(hours=12))
        if (await _state(client, task_id)).escalation_level >= 2:
            break
    steps = [
        ("receive", lead()),
        ("deploy", lead()),
        ("report", lead("实施计划", kind="plan")),
        ("report", lead("阶段进展", kind="progress")),
        ("report", lead("已完成", kind="completion")),
        ("verify", Message(unit=OFFICE, by="李四")),
    ]
    for action, msg in steps:
        await _send(client, task_id, action, msg)
        await env.sleep(timedelta(days=1))
    await client.get_workflow_handle(task_id).result()
    return _totals(await _runs(client, task_id))


async def _year(env: WorkflowEnvironment, queue: str, weekly: bool) -> dict[str, Any]:
    """A year of progress reports, every week or every weekday, then completion and
    verification."""
    client, task_id = env.client, f"YEAR-{uuid.uuid4().hex[:8]}"
    await start_task(client, spec(task_id, BUILTIN["default"]), queue)
    for action, msg in [
        ("receive", lead()),
        ("deploy", lead()),
        ("report", lead("实施计划", kind="plan")),
    ]:
        await _send(client, task_id, action, msg)
    start, reports = await env.get_current_time(), 0
    while (now := await env.get_current_time()) - start < timedelta(days=365):
        step = timedelta(days=7 if weekly else 3 if now.weekday() == 4 else 1)
        await env.sleep(step)
        reports += 1
        await _send(client, task_id, "report", lead(f"第{reports}次进展", kind="progress"))
    await _send(client, task_id, "report", lead("已完成", kind="completion"))
    await env.sleep(timedelta(days=1))
    await _send(client, task_id, "verify", Message(unit=OFFICE, by="李四"))
    await client.get_workflow_handle(task_id).result()
    return {"reports": reports, **_totals(await _runs(client, task_id))}


async def _bare(env: WorkflowEnvironment, queue: str) -> dict[str, Any]:
    key = f"BHIST-{uuid.uuid4().hex[:8]}"
    await env.client.execute_workflow(bare_wf.BareStart.run, key, id=key, task_queue=queue)
    return _totals(await _runs(env.client, key))


async def run(stack: Stack) -> dict[str, Any]:
    queue = f"history-{uuid.uuid4().hex[:8]}"
    async with time_skipping() as env:
        settings = Settings(task_queue=queue, webhook_url=stack.webhook_url)
        async with build_worker(env.client, stack.pool, settings):
            life = await _life(env, queue)
            weekly = await _year(env, queue, weekly=True)
            daily = await _year(env, queue, weekly=False)
        async with bare_worker(env.client, queue, stack.pool):
            plain = await _bare(env, queue)
    runs = (life, weekly, daily)
    within = max(r["max_run_events"] for r in runs) <= LIMIT
    return {
        "life": life,
        "year_weekly": weekly,
        "year_daily": daily,
        "bare": plain,
        "limit": LIMIT,
        "within_limit": within,
    }
