"""Scenario 4: many open tasks waiting on their timers. Each worker runs as a process of its
own (`python -m worker`, `python -m bench.bare_worker`), so its resident memory is its own and not
the bench's; the dev server's is read from its process, PostgreSQL's database size from
pg_database_size, the dev server's from its SQLite files."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

from bench import bare as bare_wf
from bench.proc import MIB, memory_mib
from bench.stack import Stack
from bench.tasks import count, for_each, spec, start_task, wait_for
from worker.settings import Settings


@contextlib.contextmanager
def process(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> Iterator[int]:
    log = (stack.directory / f"{name}.log").open("ab")
    child = subprocess.Popen(command, stdout=log, stderr=log, env={**os.environ, **env})
    try:
        yield child.pid
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()


async def _sizes(stack: Stack) -> dict[str, float]:
    pg = await stack.pool.fetchval("SELECT pg_database_size(current_database())")
    return {"pg_bytes": float(pg), "temporal_db_bytes": float(stack.temporal_db_bytes())}


async def _measure(
    stack: Stack, pid: int, n: int, before: dict[str, float], sample: str
) -> dict[str, Any]:
    await asyncio.sleep(5)  # let the last activities finish and the caches settle
    history = await stack.client.get_workflow_handle(sample).fetch_history()
    # No CHECKPOINT: duban connects as a role that owns only its schema (issue 13), and
    # PostgreSQL extends a relation's file when a page is added, so the size is already
    # on disk without one.
    after = await _sizes(stack)
    return {
        "tasks": n,
        "events_per_task": len(history.events),
        "history_bytes_per_task": sum(e.ByteSize() for e in history.events),
        "worker": memory_mib(pid),
        "server": memory_mib(stack.temporal_pid()),
        "pg_bytes_per_task": (after["pg_bytes"] - before["pg_bytes"]) / n,
        "temporal_db_bytes_per_task": (after["temporal_db_bytes"] - before["temporal_db_bytes"])
        / n,
        "pg_size_mib": after["pg_bytes"] / MIB,
        "temporal_db_mib": after["temporal_db_bytes"] / MIB,
    }


async def _duban(stack: Stack, n: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    queue, like = f"open-{tag}", f"OPEN-{tag}-%"
    env = {
        "TEMPORAL_ADDRESS": stack.address,
        "DUBAN_DATABASE_URL": stack.database_url,
        "DUBAN_TASK_QUEUE": queue,
        "DUBAN_WEBHOOK_URL": stack.webhook_url,
    }
    before = await _sizes(stack)
    with process(stack, "worker-duban", [sys.executable, "-m", "worker"], env) as pid:
        ids = [f"OPEN-{tag}-{i:06d}" for i in range(n)]
        await for_each(ids, lambda i: start_task(stack.client, spec(i), queue))

        async def waiting() -> bool:
            sql = "SELECT count(*) FROM tasks WHERE id LIKE $1 AND next_deadline IS NOT NULL"
            return await count(stack.pool, sql, like) >= n

        await wait_for(waiting, 3600, "open tasks: every task on its timer", every=2)
        return await _measure(stack, pid, n, before, ids[0])


async def _bare(stack: Stack, n: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    queue, prefix = f"bare-open-{tag}", f"BOPEN-{tag}-"
    command = [sys.executable, "-m", "bench.bare_worker", stack.address, queue, stack.database_url]
    before = await _sizes(stack)
    with process(stack, "worker-bare", command, {}) as pid:
        keys = [f"{prefix}{i:06d}" for i in range(n)]
        await for_each(
            keys,
            lambda k: stack.client.start_workflow(bare_wf.BareOpen.run, k, id=k, task_queue=queue),
        )

        async def waiting() -> bool:
            sql = "SELECT count(*) FROM bench_marks WHERE key LIKE $1"
            return await count(stack.pool, sql, prefix + "%") >= n

        await wait_for(waiting, 3600, "bare open tasks: every workflow on its timer", every=2)
        return await _measure(stack, pid, n, before, keys[0])


async def run(stack: Stack, n: int) -> dict[str, Any]:
    settings = Settings()
    return {
        "worker_settings": f"max_cached_workflows={settings.max_cached_workflows} "
        "(DUBAN_MAX_CACHED_WORKFLOWS), max_concurrent_workflow_tasks="
        f"{settings.max_concurrent_workflow_tasks} (DUBAN_MAX_CONCURRENT_WORKFLOW_TASKS), "
        "SDK defaults otherwise; bare: the same",
        "duban": await _duban(stack, n),
        "bare": await _bare(stack, n),
    }
