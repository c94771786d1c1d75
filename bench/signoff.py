"""Scenario 3: a `receive` update's round trip, from the call the CLI makes
(starter.commands.send_message: find the task, check it runs, send the update and wait for
the answer) to its acceptance, under 100 concurrent senders, each signing for its own
tasks one after another. Bare: the same call against a workflow whose `receive` update
only sets a flag."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench import bare as bare_wf
from bench.stack import Stack
from bench.stats import summary
from bench.tasks import bare, count, duban_worker, for_each, lead, spec, start_task, wait_for
from starter.commands import send_message

SENDERS = 100


async def _round_trips(stack: Stack, ids: list[str]) -> list[float]:
    took: list[float] = []
    lanes = [ids[i::SENDERS] for i in range(SENDERS)]

    async def sender(mine: list[str]) -> None:
        for task_id in mine:
            t0 = time.perf_counter()
            await send_message(stack.client, task_id, "receive", lead(), as_signal=False)
            took.append(time.perf_counter() - t0)

    await asyncio.gather(*(sender(mine) for mine in lanes))
    return took


async def _measure(
    stack: Stack,
    ids: list[str],
    start: Callable[[str], Awaitable[Any]],
    settled: Callable[[], Awaitable[bool]],
) -> dict[str, Any]:
    await for_each(ids, start)
    await wait_for(settled, 600, "sign-off: every task waiting for its receipt")
    return summary(await _round_trips(stack, ids))


async def run(stack: Stack, n: int) -> dict[str, Any]:
    per_sender = max(1, round(n / 200))
    total = SENDERS * per_sender
    tag = uuid.uuid4().hex[:6]
    queue = f"signoff-{tag}"
    ids = [f"SIGN-{tag}-{i:05d}" for i in range(total)]

    async def settled() -> bool:
        # Each task has opened its receive window and written it to the ledger: nothing
        # of the start is still running when the senders begin.
        sql = "SELECT count(*) FROM tasks WHERE id LIKE $1 AND next_deadline IS NOT NULL"
        return await count(stack.pool, sql, f"SIGN-{tag}-%") >= total

    async with duban_worker(stack, queue):
        duban = await _measure(
            stack, ids, lambda i: start_task(stack.client, spec(i), queue), settled
        )

    bare_queue = f"bare-signoff-{tag}"
    bare_ids = [f"BSIGN-{tag}-{i:05d}" for i in range(total)]

    async def started() -> bool:
        await asyncio.sleep(2)  # the bare workflow's first task does nothing to wait for
        return True

    async with bare(stack, bare_queue):
        plain = await _measure(
            stack,
            bare_ids,
            lambda i: stack.client.start_workflow(
                bare_wf.BareSignoff.run, id=i, task_queue=bare_queue
            ),
            started,
        )
    return {"senders": SENDERS, "duban": duban, "bare": plain}
