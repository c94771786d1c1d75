"""Scenario 2: a deadline storm, and the same path in steady state.

How 1,000 real TaskWorkflows fall due at one instant: a task's `due` date caps the window
awaiting its status report (workflows/deadlines.py), and a due date closes at the office's
closing time, which is a worker setting (Settings.closing_time). So the tasks are brought,
by the same updates the CLI sends, to the stage where they owe their status report, with
today as their due date; the worker that takes their plan reports closes the working day at
the chosen instant. Every one of them then sets the same deadline through the real code
path, and at that instant every one misses it and climbs to level 1. The worker that took
the earlier steps closed at 18:00 as usual; it is swapped before the plan reports, as a
deploy would swap it, so the instant can be chosen once the setup's pace is known.

Steady state: tasks whose receive window is a plain 60s, started evenly over a minute, so
each falls due at its own moment; the latency is from each task's own deadline.

The figure is when the level-1 escalation notice to the lead unit is recorded delivered in
the outbox (notifications.delivered_at); bare, when its one activity's row is written. The
storm keeps every task's figure too (`samples`, seconds after the instant, sorted), for the
chart of their distribution (bench/charts.py); and the dev server's CPU time from the
instant to the last notice, as a share of one core (`server_cpu_share`).

`duban_side` and `bare_side` take the task count and where the workers run (bench.fleet),
for the growth and workers scenarios."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import bare as bare_wf
from bench.fleet import IN_PROCESS, Fleet
from bench.proc import cpu_seconds
from bench.stack import Stack
from bench.stats import summary
from bench.tasks import (
    bare,
    count,
    duban_worker,
    for_each,
    lead,
    policy_with,
    spec,
    start_task,
    wait_for,
)
from workflows.task import TaskWorkflow

OFFICE_TZ = ZoneInfo("Asia/Shanghai")
LANES = 32
DELIVERED_L1 = """
SELECT task_id, extract(epoch FROM delivered_at) AS at FROM notifications
WHERE task_id LIKE $1 AND kind = 'escalation' AND level = 1 AND status = 'delivered'
"""


async def _send(stack: Stack, task_id: str, action: str, msg: Any) -> None:
    await stack.client.get_workflow_handle(task_id).execute_update(action, msg)


async def _send_all(stack: Stack, ids: list[str], action: str, msg: Any) -> None:
    await for_each(ids, lambda i: _send(stack, i, action, msg), LANES)


async def _hours_moved(stack: Stack, task_id: str) -> None:
    handle = stack.client.get_workflow_handle(task_id)
    await handle.signal(TaskWorkflow.calendar_changed, "下班时间调整")


async def _notices(stack: Stack, like: str) -> dict[str, float]:
    rows = await stack.pool.fetch(DELIVERED_L1, like)
    return {r["task_id"]: float(r["at"]) for r in rows}


class _Drain:
    """From the instant (slept until) to the last figure: the dev server's CPU time over
    that wall time, a share of one core."""

    def __init__(self, stack: Stack) -> None:
        self.pid = stack.temporal_pid()
        self.cpu, self.at = 0.0, 0.0

    async def at_instant(self, instant: datetime) -> None:
        await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))
        self.cpu, self.at = cpu_seconds(self.pid), time.monotonic()

    def share(self) -> float:
        return round((cpu_seconds(self.pid) - self.cpu) / (time.monotonic() - self.at), 3)


def _figures(late: list[float], drain: _Drain, samples: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {**summary(late), "server_cpu_share": drain.share()}
    if samples:
        figures["samples"] = sorted(round(x, 3) for x in late)
    return figures


async def duban_side(
    stack: Stack, n: int, *, fleet: Fleet = IN_PROCESS, samples: bool = False
) -> dict[str, Any]:
    prefix = f"STORM-{uuid.uuid4().hex[:6]}-"
    like = prefix + "%"
    queue = f"storm-{uuid.uuid4().hex[:8]}"
    # Due on the day the instant falls on (the setup takes minutes, not hours).
    due = (datetime.now(OFFICE_TZ) + timedelta(minutes=20)).date()
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    t0 = time.monotonic()
    async with fleet.duban(stack, queue):
        await for_each(ids, lambda i: start_task(stack.client, spec(i, due=due), queue), LANES)
        await _send_all(stack, ids, "receive", lead())
        await _send_all(stack, ids, "deploy", lead())
    setup = time.monotonic() - t0
    # Time for the plan reports, in whole seconds, as a closing time is written: a third of
    # the setup's steps and the tasks told of the new hours, but the new worker replays
    # every task's history first, and the worker, not the server, sets the pace of that.
    # Twice the whole setup leaves room.
    instant = datetime.now(UTC) + timedelta(seconds=max(30.0, 2 * setup + 30))
    instant = max(instant, datetime.combine(due, datetime.min.time(), OFFICE_TZ))
    instant = instant.replace(microsecond=0)
    if instant.astimezone(OFFICE_TZ).date() != due:
        raise RuntimeError("storm: the setup ran past the tasks' due date; run it again")
    closing = instant.astimezone(OFFICE_TZ).time()
    async with fleet.duban(stack, queue, closing_time=closing):
        # A task holds the office's hours with its year's working days (release 5): told
        # the calendar changed, as `duban calendar replan` tells them after the closing
        # time is moved, each fetches them again from the new worker.
        await for_each(ids, lambda i: _hours_moved(stack, i), LANES)
        await _send_all(stack, ids, "report", lead("实施计划", kind="plan"))

        async def all_set() -> bool:
            sql = (
                "SELECT count(*) FROM tasks WHERE id LIKE $1 AND stage = 'planned' "
                "AND next_deadline = $2"
            )
            return await count(stack.pool, sql, like, instant) >= n

        lead_time = (instant - datetime.now(UTC)).total_seconds()
        await wait_for(
            all_set,
            max(lead_time, 0.0),
            "storm: the plan reports ran past the instant (a task missed it before every "
            "deadline was set); run it again",
        )
        spare = (instant - datetime.now(UTC)).total_seconds()
        drain = _Drain(stack)
        await drain.at_instant(instant)

        async def all_told() -> bool:
            return len(await _notices(stack, like)) >= n

        await wait_for(all_told, 600, "storm: every level-1 notice", every=0.5)
        told = await _notices(stack, like)
        late = [at - instant.timestamp() for at in told.values()]
        figures = _figures(late, drain, samples)
    return {"tasks": n, "setup_s": round(setup, 1), "spare_s": round(spare, 1), **figures}


async def bare_side(
    stack: Stack, n: int, *, fleet: Fleet = IN_PROCESS, samples: bool = False
) -> dict[str, Any]:
    prefix = f"BSTORM-{uuid.uuid4().hex[:6]}-"
    queue = f"bare-storm-{uuid.uuid4().hex[:8]}"
    keys = [f"{prefix}{i:05d}" for i in range(n)]
    async with fleet.bare(stack, queue):
        instant = datetime.now(UTC) + timedelta(seconds=max(15.0, n / 10))
        instant = instant.replace(microsecond=0)
        await for_each(
            keys,
            lambda k: stack.client.start_workflow(
                bare_wf.BareTimer.run, args=[k, instant], id=k, task_queue=queue
            ),
            LANES,
        )
        spare = (instant - datetime.now(UTC)).total_seconds()
        if spare <= 0:
            raise RuntimeError("bare storm: the starts ran past the instant")
        drain = _Drain(stack)
        await drain.at_instant(instant)

        async def all_marked() -> bool:
            return await count(stack.pool, MARKS, prefix + "%") >= n

        await wait_for(all_marked, 600, "bare storm: every row", every=0.5)
        late = await _marks(stack, prefix, instant.timestamp())
        figures = _figures(late, drain, samples)
    return {"tasks": n, "spare_s": round(spare, 1), **figures}


MARKS = "SELECT count(*) FROM bench_marks WHERE key LIKE $1"


async def _marks(stack: Stack, prefix: str, since: float) -> list[float]:
    rows = await stack.pool.fetch(
        "SELECT extract(epoch FROM at) AS at FROM bench_marks WHERE key LIKE $1", prefix + "%"
    )
    return [float(r["at"]) - since for r in rows]


async def _paced(m: int, seconds: float, start_one: Any) -> None:
    """Start m at an even pace over `seconds`, as deadlines falling due over a minute."""
    t0 = time.monotonic()
    pending = []
    for i in range(m):
        await asyncio.sleep(max(0.0, t0 + i * seconds / m - time.monotonic()))
        pending.append(asyncio.create_task(start_one(i)))
    await asyncio.gather(*pending)


async def _duban_steady(stack: Stack, m: int) -> dict[str, Any]:
    prefix = f"STEADY-{uuid.uuid4().hex[:6]}-"
    like = prefix + "%"
    queue = f"steady-{uuid.uuid4().hex[:8]}"
    policy = policy_with(receive="60s")
    async with duban_worker(stack, queue):
        await _paced(
            m, 60.0, lambda i: start_task(stack.client, spec(f"{prefix}{i:05d}", policy), queue)
        )

        async def all_told() -> bool:
            return len(await _notices(stack, like)) >= m

        await wait_for(all_told, 300, "steady: every level-1 notice", every=0.5)
        told = await _notices(stack, like)
        rows = await stack.pool.fetch(
            "SELECT task_id, extract(epoch FROM deadline) AS at FROM task_events "
            "WHERE task_id LIKE $1 AND kind = 'deadline_set' AND stage = 'assigned'",
            like,
        )
    due = {r["task_id"]: float(r["at"]) for r in rows}
    return {"tasks": m, **summary([told[t] - due[t] for t in told])}


async def _bare_steady(stack: Stack, m: int) -> dict[str, Any]:
    prefix = f"BSTEADY-{uuid.uuid4().hex[:6]}-"
    queue = f"bare-steady-{uuid.uuid4().hex[:8]}"
    due: dict[str, float] = {}

    async def start_one(i: int) -> None:
        key = f"{prefix}{i:05d}"
        at = datetime.now(UTC) + timedelta(seconds=60)
        due[key] = at.timestamp()
        await stack.client.start_workflow(
            bare_wf.BareTimer.run, args=[key, at], id=key, task_queue=queue
        )

    async with bare(stack, queue):
        await _paced(m, 60.0, start_one)

        async def all_marked() -> bool:
            return await count(stack.pool, MARKS, prefix + "%") >= m

        await wait_for(all_marked, 300, "bare steady: every row", every=0.5)
        rows = await stack.pool.fetch(
            "SELECT key, extract(epoch FROM at) AS at FROM bench_marks WHERE key LIKE $1",
            prefix + "%",
        )
    return {"tasks": m, **summary([float(r["at"]) - due[r["key"]] for r in rows])}


async def run(stack: Stack, n: int) -> dict[str, Any]:
    m = max(10, n // 10)
    return {
        "storm": {
            "duban": await duban_side(stack, n, samples=True),
            "bare": await bare_side(stack, n, samples=True),
        },
        "steady": {"duban": await _duban_steady(stack, m), "bare": await _bare_steady(stack, m)},
    }
