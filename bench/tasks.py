"""duban's side: tasks as offices assign them, started as `duban task start` starts them,
and the ledger queries that say when each step was recorded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from bench.bare_worker import bare_worker
from bench.stack import Stack
from worker.main import build_worker
from worker.settings import Settings
from workflows.contracts import LEAD_UNIT, STAGE, Message, TaskSpec, TaskStart
from workflows.policy import BUILTIN, Policy
from workflows.task import TaskWorkflow

LEAD = "区司法局"
OFFICE = "区政府办公室"

# The built-in default (working-day windows, the three-level ladder), with notices sent at
# once: a bench runs at any hour, and a notice held for the next working morning would
# measure the calendar, not duban.
BENCH_POLICY = BUILTIN["default"].model_copy(update={"name": "bench", "quiet_hours": False})


def policy_with(**windows: str) -> Policy:
    """The bench policy with some windows as plain durations."""
    return Policy.model_validate(
        {
            **BENCH_POLICY.model_dump(),
            "windows": {**BENCH_POLICY.windows.model_dump(), **windows},
        }
    )


def spec(task_id: str, policy: Policy = BENCH_POLICY, due: date | None = None) -> TaskSpec:
    return TaskSpec(
        id=task_id,
        title="完善行政执法协调机制",
        source="区政府常务会议纪要〔2026〕12号",
        assigning_unit=OFFICE,
        lead_unit=LEAD,
        co_units=["区财政局", "区人社局"],
        standard="形成协调办法并印发",
        due=due,
        policy=policy,
    )


async def start_task(client: Client, s: TaskSpec, task_queue: str) -> None:
    """The same start as starter.commands.start_task, less reading the task file."""
    await client.start_workflow(
        TaskWorkflow.run,
        TaskStart(spec=s, assigned_by="bench"),
        id=s.id,
        task_queue=task_queue,
        static_summary=f"{s.title}｜牵头 {s.lead_unit}｜时限 {s.due or '无'}",
        memo={"title": s.title},
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(STAGE, "assigned"), SearchAttributePair(LEAD_UNIT, s.lead_unit)]
        ),
    )


def lead(text: str = "", **fields: Any) -> Message:
    return Message(unit=LEAD, by="张三", text=text, **fields)


@contextlib.asynccontextmanager
async def duban_worker(stack: Stack, task_queue: str, **settings: Any) -> AsyncIterator[Worker]:
    """duban's worker as `python -m worker` builds it, in this process."""
    values = Settings(task_queue=task_queue, webhook_url=stack.webhook_url, **settings)
    async with build_worker(stack.client, stack.pool, values) as worker:
        yield worker


@contextlib.asynccontextmanager
async def bare(stack: Stack, task_queue: str) -> AsyncIterator[Worker]:
    async with bare_worker(stack.client, task_queue, stack.pool) as worker:
        yield worker


async def for_each(items: list[str], job: Callable[[str], Awaitable[Any]], limit: int = 32) -> None:
    """Run `job` on every item, `limit` at a time, as that many concurrent clients would."""
    cursor = iter(items)

    async def lane() -> None:
        for item in cursor:
            await job(item)

    await asyncio.gather(*(lane() for _ in range(min(limit, len(items)))))


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.25
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f}s")
        await asyncio.sleep(every)


async def count(pool: asyncpg.Pool, sql: str, *args: Any) -> int:
    value = await pool.fetchval(sql, *args)
    return int(value or 0)


def epoch(at: datetime) -> float:
    return at.timestamp()
