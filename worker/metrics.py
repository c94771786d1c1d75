"""duban's own gauges, from the ledger: open tasks by stage and light."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from temporalio.runtime import Runtime

from activities.ledger import open_task_counts

log = structlog.get_logger(__name__)


async def publish_open_tasks(
    pool: asyncpg.Pool, runtime: Runtime, stop: asyncio.Event, every: float = 15.0
) -> None:
    gauge = runtime.metric_meter.create_gauge("duban_open_tasks", "open tasks by stage and light")
    seen: set[tuple[str, str]] = set()
    while not stop.is_set():
        try:
            counts = await open_task_counts(pool)
        except (OSError, asyncpg.PostgresError) as err:
            log.warning("open-task gauge not updated", reason=str(err))
            counts = {}
        for key in seen | counts.keys():  # a stage that emptied goes to zero, not stale
            gauge.set(counts.get(key, 0), {"stage": key[0], "light": key[1]})
        seen |= counts.keys()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
