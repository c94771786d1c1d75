"""duban's own gauges: open tasks by stage and light, from the ledger; stuck tasks, from
what the worker saw and what Temporal says."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from activities.ledger import open_task_counts
from worker import stuck
from worker.faults import POSTGRESQL, Monitor, postgres_gone
from worker.interceptors import StuckWatch

log = structlog.get_logger(__name__)


async def publish_open_tasks(
    pool: asyncpg.Pool,
    runtime: Runtime,
    stop: asyncio.Event,
    every: float = 15.0,
    monitor: Monitor | None = None,
) -> None:
    gauge = runtime.metric_meter.create_gauge("duban_open_tasks", "open tasks by stage and light")
    seen: set[tuple[str, str]] = set()
    while not stop.is_set():
        try:
            counts = await open_task_counts(pool)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            if monitor is not None and postgres_gone(err):
                monitor.failed(POSTGRESQL, str(err))  # named once, not every 15 s
            else:
                log.warning("open-task gauge not updated", reason=str(err))
            counts = {}
        for key in seen | counts.keys():  # a stage that emptied goes to zero, not stale
            gauge.set(counts.get(key, 0), {"stage": key[0], "light": key[1]})
        seen |= counts.keys()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


async def publish_stuck_tasks(
    client: Client, watch: StuckWatch, runtime: Runtime, stop: asyncio.Event, every: float = 15.0
) -> None:
    """`duban_stuck_tasks`: the tasks this worker saw stuck (worker/interceptors.py) that
    Temporal says still are: a workflow task failing, an activity past its tenth attempt.
    One that is not (fixed, terminated, gone) is no longer counted."""
    gauge = runtime.metric_meter.create_gauge(
        "duban_stuck_tasks",
        "tasks whose workflow task fails or whose activity is past its tenth attempt",
    )
    while not stop.is_set():
        count = 0
        for task_id, run_id in watch.suspects():
            try:
                still = await stuck.reasons(client, task_id, run_id)
            except RPCError as err:
                log.warning("stuck-task gauge: Temporal did not answer", reason=err.message)
                count += 1  # unknown: counted as it was seen
                continue
            if still:
                count += 1
            else:
                watch.cleared(task_id, run_id)
        gauge.set(count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
