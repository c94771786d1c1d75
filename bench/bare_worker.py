"""The bare workflows' worker and activities. `python -m bench.bare_worker ADDRESS
TASK_QUEUE DATABASE_URL` runs it in a process of its own, for the open-tasks scenario's
resident-memory figure."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench import bare
from worker.main import SANDBOX, compile_for_sandbox, connect
from worker.settings import Settings

# When each no-op activity ran, by key: the starts scenario reads it in this process.
RAN: dict[str, float] = {}


@activity.defn(name="bare_noop")
async def noop(key: str) -> None:
    """Does nothing anyone could observe; the bench notes when it ran."""
    RAN[key] = time.time()


class Marks:
    """One row in PostgreSQL per call: the bare counterpart of a notice being recorded."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name="bare_mark")
    async def mark(self, key: str) -> None:
        await self.pool.execute(
            "INSERT INTO bench_marks (key) VALUES ($1) ON CONFLICT DO NOTHING", key
        )


def bare_worker(client: Client, task_queue: str, pool: asyncpg.Pool) -> Worker:
    """The same workflow runner, bytecode, cache size and concurrency as duban's worker."""
    compile_for_sandbox(Path(bare.__file__).parent)
    settings = Settings()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[bare.BareStart, bare.BareTimer, bare.BareOpen, bare.BareSignoff],
        activities=[noop, Marks(pool).mark],
        workflow_runner=SANDBOX,
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
    )


async def _main(address: str, task_queue: str, database_url: str) -> None:
    client = await connect(address)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with (
        asyncpg.create_pool(database_url, min_size=1, max_size=10) as pool,
        bare_worker(client, task_queue, pool),
    ):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:4]))
