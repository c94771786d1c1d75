"""The bare workflows' worker and activities. `python -m bench.bare_worker ADDRESS
TASK_QUEUE DATABASE_URL [RAN_FILE]` runs it in a process of its own, for the open-tasks
scenario's resident-memory figure and for the scenarios with more than one worker
(bench.fleet); given RAN_FILE, it appends there when each no-op ran, as the bench reads
RAN in its own process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.sql import keep_session
from bench import bare
from worker.client import connect
from worker.main import compile_for_sandbox, sandbox
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
        workflow_runner=sandbox(bare.__name__),  # its workflows' module shared, as duban's
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
    )


async def flush_ran(path: Path, stop: asyncio.Event, every: float = 0.2) -> None:
    """Append `key<TAB>epoch seconds` for each no-op run since the last flush, every
    `every` seconds and once more when stopped; the activity itself stays a no-op."""
    written = 0
    with path.open("a") as out:
        while True:
            stopping = stop.is_set()
            items = list(RAN.items())
            out.writelines(f"{key}\t{at!r}\n" for key, at in items[written:])
            out.flush()
            written = len(items)
            if stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)


async def _main(
    address: str, task_queue: str, database_url: str, ran_file: str | None = None
) -> None:
    client = await connect(address)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with (
        asyncpg.create_pool(database_url, min_size=1, max_size=10, reset=keep_session) as pool,
        bare_worker(client, task_queue, pool),
    ):
        if ran_file is None:
            await stop.wait()
        else:
            await flush_ran(Path(ran_file), stop)


if __name__ == "__main__":
    asyncio.run(_main(*sys.argv[1:5]))
