"""Scenario 1: tasks started per second, sustained for a minute, each counted once its
first ledger row is written (bare: once its one no-op activity has run).

The starters keep a bounded backlog (started but not yet recorded): enough that the worker
never waits for work, not so much that the run ends with minutes of draining."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench import bare as bare_wf
from bench import bare_worker
from bench.stack import Stack
from bench.tasks import bare, count, duban_worker, spec, start_task, wait_for

BACKLOG = 200
LANES = 16


async def _sustain(
    start_one: Callable[[int], Awaitable[None]],
    done: Callable[[], Awaitable[int]],
    seconds: float,
) -> tuple[float, int]:
    """Start for `seconds`; return when it began and how many were started."""
    t0 = time.time()
    started = 0
    recorded = 0
    stop = t0 + seconds

    async def watch() -> None:
        nonlocal recorded
        while time.time() < stop:
            recorded = await done()
            await asyncio.sleep(0.25)

    async def lane() -> None:
        nonlocal started
        while time.time() < stop:
            if started - recorded > BACKLOG:
                await asyncio.sleep(0.05)
                continue
            i = started
            started += 1
            await start_one(i)

    await asyncio.gather(watch(), *(lane() for _ in range(LANES)))
    return t0, started


async def _duban(stack: Stack, seconds: float) -> dict[str, Any]:
    queue, prefix = f"starts-{uuid.uuid4().hex[:8]}", f"S-{uuid.uuid4().hex[:6]}-"
    like = prefix + "%"

    async def start_one(i: int) -> None:
        await start_task(stack.client, spec(f"{prefix}{i:06d}"), queue)

    async def done() -> int:
        return await count(stack.pool, "SELECT count(*) FROM tasks WHERE id LIKE $1", like)

    async with duban_worker(stack, queue):
        t0, started = await _sustain(start_one, done, seconds)
        in_time = await count(
            stack.pool,
            "SELECT count(*) FROM tasks WHERE id LIKE $1 AND created_at <= to_timestamp($2)",
            like,
            t0 + seconds,
        )

        async def drained() -> bool:
            return await done() >= started

        await wait_for(drained, 600, "starts: every task in the ledger")
    return {"started": started, "recorded_in_window": in_time, "per_second": in_time / seconds}


async def _bare(stack: Stack, seconds: float) -> dict[str, Any]:
    queue, prefix = f"bare-starts-{uuid.uuid4().hex[:8]}", f"BS-{uuid.uuid4().hex[:6]}-"

    async def start_one(i: int) -> None:
        key = f"{prefix}{i:06d}"
        await stack.client.start_workflow(bare_wf.BareStart.run, key, id=key, task_queue=queue)

    def ran() -> list[float]:
        return [at for key, at in list(bare_worker.RAN.items()) if key.startswith(prefix)]

    async def done() -> int:
        return len(ran())

    async with bare(stack, queue):
        t0, started = await _sustain(start_one, done, seconds)
        in_time = sum(1 for at in ran() if at <= t0 + seconds)

        async def drained() -> bool:
            return await done() >= started

        await wait_for(drained, 600, "starts: every bare activity run")
    return {"started": started, "recorded_in_window": in_time, "per_second": in_time / seconds}


async def run(stack: Stack, seconds: float) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "duban": await _duban(stack, seconds),
        "bare": await _bare(stack, seconds),
    }
