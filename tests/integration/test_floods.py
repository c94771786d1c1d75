"""Floods (issue 13 §1): more updates at once on one task than Temporal keeps in flight
(the dev server's history.maxInFlightUpdates, 10). Every sender either gets the task's
answer or one line saying the task is busy; the ledger has one row per accepted update.
Against the real dev server, a real worker and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from starter import commands
from starter.http.errors import ApiError
from starter.http.tasks import _translated
from starter.taskfile import task_from
from tests.conftest import venv_binary
from worker.client import DATA_CONVERTER
from worker.main import build_worker
from worker.settings import Settings
from workflows.contracts import SEARCH_ATTRIBUTES, Accepted, Actor, Message, TaskState
from workflows.names import Action, EventKind, Via
from workflows.task import TaskWorkflow

# Windows long enough that nothing climbs while the test runs.
CALM: dict[str, Any] = {
    "name": "calm",
    "windows": dict.fromkeys(
        ("receive", "deploy", "plan", "progress", "stage_every", "verify"), "1h"
    ),
    "escalation": [
        {"level": "lead_unit", "answer_within": "1h"},
        {"level": "deputy_secretary_general", "answer_within": "1h"},
        {"level": "principal_leader", "answer_within": "1h"},
    ],
    "quiet_hours": False,
    "test_mode": True,
}
# Forty co-units: each signs for the task once, and each receipt is accepted.
CO_UNITS = [f"协办单位{i}" for i in range(40)]
ADMITTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=list(SEARCH_ATTRIBUTES),
        ui=False,
    )
    yield env
    await env.shutdown()


async def _start(client: Client, task_queue: str) -> str:
    """A task no worker has touched yet: its first workflow task waits, persisted, on the
    task queue, and every update sent now stays in flight until a worker comes."""
    spec = task_from(
        {
            "id": f"T-flood-{uuid.uuid4().hex[:8]}",
            "title": "完善行政执法协调机制",
            "source": "区政府常务会议纪要〔2026〕12号",
            "assigning_unit": "区政府办公室",
            "lead_unit": "区司法局",
            "co_units": CO_UNITS,
            "standard": "形成协调办法并印发",
            "policy": CALM,
        },
        commands.today(),
        None,
    )
    return await commands.start_spec(client, spec, task_queue, "he.shan")


def _receipt(i: int) -> Message:
    unit = CO_UNITS[i]
    actor = Actor(person=f"clerk{i}", role="member", unit=unit, via=Via.CLI)
    return Message(unit=unit, by=f"clerk{i}", actor=actor)


async def _ledger(pool: asyncpg.Pool, client: Client, task_id: str) -> list[int]:
    """The seqs of the receipts the ledger holds, once the task has recorded everything."""
    handle = client.get_workflow_handle(task_id)
    for _ in range(400):
        state: TaskState = await handle.query(TaskWorkflow.status)
        if not state.unrecorded:
            break
        await asyncio.sleep(0.05)
    rows = await pool.fetch(
        "SELECT seq FROM task_events WHERE task_id = $1 AND kind = $2 ORDER BY seq",
        task_id,
        EventKind.CO_RECEIVED.value,
    )
    return [r["seq"] for r in rows]


NOT_DELIVERED = "任务 {} 正忙：同一时间送来的消息太多，未能送达，请一分钟后再试"
DELIVERED = "任务 {} 正忙：消息已送达、尚未办理，请稍后查看任务记录，未见记录再重发"


def _bare(client: Client, task_id: str, i: int) -> asyncio.Task[Any]:
    """A receipt sent as the SDK alone sends it, in the background."""
    handle = client.get_workflow_handle_for(TaskWorkflow.run, task_id)
    return asyncio.create_task(
        handle.execute_update(TaskWorkflow.receive, _receipt(i), id=f"bare-{i}")
    )


def _senders(client: Client, task_id: str, busy_for: float) -> list[asyncio.Task[Any]]:
    """Thirty co-units' receipts at once through send_message, as the CLI and the API send."""
    return [
        asyncio.create_task(
            commands.send_message(client, task_id, Action.RECEIVE, _receipt(i), busy_for=busy_for)
        )
        for i in range(30)
    ]


async def _outcome(
    pool: asyncpg.Pool, client: Client, task_id: str, senders: list[asyncio.Task[Any]]
) -> tuple[list[Accepted], list[commands.TaskBusy]]:
    """Each sender's answer: the task's, or one line saying it is busy, nothing else; the
    ledger holds each accepted receipt once, and beside them at most those the task held
    but had not handled when their senders were told so."""
    answers = await asyncio.gather(*senders, return_exceptions=True)
    accepted = [a for a in answers if isinstance(a, Accepted)]
    busy = [a for a in answers if isinstance(a, commands.TaskBusy)]
    others = [a for a in answers if a not in accepted and a not in busy]
    assert others == [], [f"{type(a).__name__}: {a}" for a in others]
    lines = {False: NOT_DELIVERED.format(task_id), True: DELIVERED.format(task_id)}
    assert [str(b) for b in busy] == [lines[b.delivered] for b in busy]
    recorded = await _ledger(pool, client, task_id)
    assert {a.seq for a in accepted} <= set(recorded)
    assert len(recorded) <= len(accepted) + sum(b.delivered for b in busy)
    return accepted, busy


async def test_thirty_senders_at_once_each_get_an_answer_or_one_busy_line(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """Thirty receipts at once on a task whose worker is not up yet: the server keeps ten
    in flight and turns the rest away (and, turning one away, aborts those it held). A bare
    update, sent as the SDK alone sends it, gives up: each sender met that before. Then the
    worker comes, and every sender has the task's answer or one line saying it is busy."""
    client = dev_env.client
    task_queue = f"tq-{uuid.uuid4()}"
    task_id = await _start(client, task_queue)
    senders = _senders(client, task_id, commands.BUSY_FOR)
    with pytest.raises(RPCError) as bare:
        await asyncio.wait_for(_bare(client, task_id, 39), timeout=120)
    assert commands.turned_away(bare.value)
    async with build_worker(client, pool, Settings(task_queue=task_queue)):
        accepted, _ = await _outcome(pool, client, task_id, senders)
    assert accepted, "no sender got through"


async def test_a_task_that_stays_busy_is_refused_in_one_line_and_changes_nothing(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """Senders who wait only a second: the task stays full longer, and those turned away
    are told in one line that it is busy; a receipt not delivered is not taken when the
    worker comes."""
    client = dev_env.client
    task_queue = f"tq-{uuid.uuid4()}"
    task_id = await _start(client, task_queue)
    senders = _senders(client, task_id, busy_for=1.0)
    for done in asyncio.as_completed(senders, timeout=120):
        with contextlib.suppress(commands.TaskBusy):
            await done
            continue
        break  # the first sender told the task is busy
    async with build_worker(client, pool, Settings(task_queue=task_queue)):
        _, busy = await _outcome(pool, client, task_id, senders)
        state: TaskState = await client.get_workflow_handle(task_id).query(TaskWorkflow.status)
    assert busy
    refused = [
        CO_UNITS[i]
        for i, s in enumerate(senders)
        if isinstance(s.exception(), commands.TaskBusy) and not s.exception().delivered
    ]
    assert refused
    assert set(refused).isdisjoint(state.co_received)


def test_the_api_answers_a_busy_task_with_503_and_retry_after() -> None:
    """The HTTP API's side: the busy line as {"error": ...} with 503 (the server's load, not
    this caller's rate: not 429), and Retry-After when the message was not delivered."""
    with pytest.raises(ApiError) as answer, _translated():
        raise commands.TaskBusy("T-1")
    assert (answer.value.status, answer.value.reason) == (503, NOT_DELIVERED.format("T-1"))
    assert answer.value.headers == {"Retry-After": "60"}
    with pytest.raises(ApiError) as answer, _translated():
        raise commands.TaskBusy("T-1", delivered=True)
    assert (answer.value.status, answer.value.reason) == (503, DELIVERED.format("T-1"))
    assert answer.value.headers is None
