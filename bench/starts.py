"""Scenario 1: tasks started per second, sustained for a minute, each counted once its
first ledger row is written (bare: once its one no-op activity has run).

The starters keep a bounded backlog (started but not yet recorded): enough that the worker
never waits for work, not so much that the run ends with minutes of draining. `scale`
multiplies both, the starters and the backlog (the growth scenario's 1×, 2×, 4×); `fleet`
says where the workers run (bench.fleet: in this process unless told)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench import bare as bare_wf
from bench.fleet import IN_PROCESS, Fleet
from bench.proc import cpu_seconds
from bench.stack import Stack
from bench.tasks import count, spec, start_task, wait_for

BACKLOG = 200
LANES = 16


def window(n: int) -> float:
    """The starts' window for a run at --n n: a minute at 1,000, N/1000 of it, at least 10 s."""
    return max(10.0, 60.0 * min(n, 1000) / 1000)


async def _sustain(
    start_one: Callable[[int], Awaitable[None]],
    done: Callable[[], Awaitable[int]],
    seconds: float,
    scale: int = 1,
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
            if started - recorded > BACKLOG * scale:
                await asyncio.sleep(0.05)
                continue
            i = started
            started += 1
            await start_one(i)

    await asyncio.gather(watch(), *(lane() for _ in range(LANES * scale)))
    return t0, started


class _ServerCpu:
    """The dev server's CPU time over the window, as a share of one core."""

    def __init__(self, stack: Stack) -> None:
        self.pid = stack.temporal_pid()
        self.cpu, self.at = cpu_seconds(self.pid), time.monotonic()

    def share(self) -> float:
        return (cpu_seconds(self.pid) - self.cpu) / (time.monotonic() - self.at)


def _figures(
    started: int, in_time: int, seconds: float, scale: int, server: float
) -> dict[str, Any]:
    return {
        "started": started,
        "recorded_in_window": in_time,
        "per_second": in_time / seconds,
        "starters": LANES * scale,
        "backlog": BACKLOG * scale,
        "server_cpu_share": round(server, 3),
    }


async def duban_side(
    stack: Stack, seconds: float, *, scale: int = 1, fleet: Fleet = IN_PROCESS
) -> dict[str, Any]:
    queue, prefix = f"starts-{uuid.uuid4().hex[:8]}", f"S-{uuid.uuid4().hex[:6]}-"
    like = prefix + "%"

    async def start_one(i: int) -> None:
        await start_task(stack.client, spec(f"{prefix}{i:06d}"), queue)

    async def done() -> int:
        return await count(stack.pool, "SELECT count(*) FROM tasks WHERE id LIKE $1", like)

    async with fleet.duban(stack, queue):
        server = _ServerCpu(stack)
        t0, started = await _sustain(start_one, done, seconds, scale)
        share = server.share()
        in_time = await count(
            stack.pool,
            "SELECT count(*) FROM tasks WHERE id LIKE $1 AND created_at <= to_timestamp($2)",
            like,
            t0 + seconds,
        )

        async def drained() -> bool:
            return await done() >= started

        await wait_for(drained, 600, "starts: every task in the ledger")
    return _figures(started, in_time, seconds, scale, share)


async def bare_side(
    stack: Stack, seconds: float, *, scale: int = 1, fleet: Fleet = IN_PROCESS
) -> dict[str, Any]:
    queue, prefix = f"bare-starts-{uuid.uuid4().hex[:8]}", f"BS-{uuid.uuid4().hex[:6]}-"

    async def start_one(i: int) -> None:
        key = f"{prefix}{i:06d}"
        await stack.client.start_workflow(bare_wf.BareStart.run, key, id=key, task_queue=queue)

    async with fleet.bare(stack, queue) as ran_by_key:

        def ran() -> list[float]:
            return [at for key, at in ran_by_key().items() if key.startswith(prefix)]

        async def done() -> int:
            return len(ran())

        server = _ServerCpu(stack)
        t0, started = await _sustain(start_one, done, seconds, scale)
        share = server.share()

        async def drained() -> bool:
            return await done() >= started

        await wait_for(drained, 600, "starts: every bare activity run")
        # counted once all have run: a worker process writes what it ran a moment later
        in_time = sum(1 for at in ran() if at <= t0 + seconds)
    return _figures(started, in_time, seconds, scale, share)


async def run(stack: Stack, seconds: float) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "duban": await duban_side(stack, seconds),
        "bare": await bare_side(stack, seconds),
    }
