"""Scenario 3: a `receive` update's round trip, from the call the CLI makes
(starter.commands.send_message: the update sent straight to the task, answered when the
task has taken it) to its acceptance, under 100 concurrent senders, each signing for its
own tasks one after another. Bare: the same call against a workflow whose `receive`
update only sets a flag. bench/signoff_http.py adds the HTTP service's side to these two."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench import bare as bare_wf
from bench.proc import Cpu
from bench.stack import Stack
from bench.stats import summary
from bench.tasks import bare, count, duban_worker, for_each, lead, spec, start_task, wait_for
from starter.commands import send_message

SENDERS = 100


def lanes(ids: list[str]) -> list[list[str]]:
    """Sender i signs ids[i], ids[i + 100], ...: one after another, each its own task."""
    return [ids[i::SENDERS] for i in range(SENDERS)]


def tasks_per_sender(n: int) -> int:
    """N/200 tasks each (5 at N=1000: 500 sign-offs a side)."""
    return max(1, round(n / 200))


@dataclass
class Trips:
    """Every sign-off's time to its answer, and the answers that were not an acceptance."""

    took: list[float] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)

    def figures(self) -> dict[str, Any]:
        """p50, p99, max over every sign-off, accepted or not; the others by reason."""
        return {**summary(self.took), "failed": dict(self.failed)}


async def cli_round_trips(stack: Stack, ids: list[str]) -> Trips:
    """Each `receive` as `duban task receive` sends it, timed to its answer; one that
    fails (refused, or Temporal gave up waiting) is timed and counted, and the rest go on."""
    trips = Trips()

    async def sender(mine: list[str]) -> None:
        for task_id in mine:
            t0 = time.perf_counter()
            try:
                await send_message(stack.client, task_id, "receive", lead(), as_signal=False)
            except Exception as err:
                trips.failed[f"{type(err).__name__}: {str(err)[:80]}"] += 1
            trips.took.append(time.perf_counter() - t0)

    await asyncio.gather(*(sender(mine) for mine in lanes(ids)))
    return trips


async def start_duban(stack: Stack, queue: str, prefix: str, ids: list[str]) -> None:
    """Start duban's tasks (ids starting with `prefix`) on `queue` and wait until nothing
    of their starts is still running: each has opened its receive window in the ledger,
    and its notices of assignment are settled."""
    await for_each(ids, lambda i: start_task(stack.client, spec(i), queue))

    async def settled() -> bool:
        sql = "SELECT count(*) FROM tasks WHERE id LIKE $1 AND next_deadline IS NOT NULL"
        return await count(stack.pool, sql, f"{prefix}%") >= len(ids)

    await wait_for(settled, 600, "sign-off: every task waiting for its receipt")
    await quiet(stack, prefix)


async def quiet(stack: Stack, prefix: str, every: float = 1.0) -> None:
    """Until the ledger and the outbox of these tasks stop moving: no notice pending and
    no row written in the last `every` seconds."""
    sql = (
        "SELECT (SELECT count(*) FROM task_events WHERE task_id LIKE $1)"
        " + (SELECT count(*) FROM notifications WHERE task_id LIKE $1),"
        " (SELECT count(*) FROM notifications WHERE task_id LIKE $1"
        "  AND status IN ('pending', 'retrying'))"
    )
    last = -1
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        row = await stack.pool.fetchrow(sql, f"{prefix}%")
        assert row is not None  # an aggregate always answers one row
        rows, pending = row
        if rows == last and not pending:
            return
        last = rows
        await asyncio.sleep(every)
    raise TimeoutError("sign-off: the tasks' starts did not settle within 300s")


async def bare_side(stack: Stack, tag: str, total: int, cpu: Cpu | None = None) -> dict[str, Any]:
    """The same call and senders against the bare workflow; with `cpu`, the CPU time its
    processes spent per sign-off."""
    bare_queue = f"bare-signoff-{tag}"
    bare_ids = [f"BSIGN-{tag}-{i:05d}" for i in range(total)]
    async with bare(stack, bare_queue):
        await for_each(
            bare_ids,
            lambda i: stack.client.start_workflow(
                bare_wf.BareSignoff.run, id=i, task_queue=bare_queue
            ),
        )
        await asyncio.sleep(2)  # the bare workflow's first task does nothing to wait for
        if cpu is not None:
            cpu.start()
        figures = (await cli_round_trips(stack, bare_ids)).figures()
        if cpu is not None:
            figures["cpu_ms_per_request"] = cpu.per_request_ms(total)
        return figures


async def run(stack: Stack, n: int) -> dict[str, Any]:
    total = SENDERS * tasks_per_sender(n)
    tag = uuid.uuid4().hex[:6]
    queue = f"signoff-{tag}"
    prefix = f"SIGN-{tag}-"
    ids = [f"{prefix}{i:05d}" for i in range(total)]
    async with duban_worker(stack, queue):
        await start_duban(stack, queue, prefix, ids)
        duban = (await cli_round_trips(stack, ids)).figures()
    return {"senders": SENDERS, "duban": duban, "bare": await bare_side(stack, tag, total)}
