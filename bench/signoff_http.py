"""Scenario 3b, sign-off through HTTP: 100 clerks of the lead unit, each with a personal
token, each signing for its own tasks one after another with `POST
/api/tasks/{id}/receive` to `duban serve` (a process of its own, as production runs it),
timed from the request to the answer. In the same run and on the same worker, the CLI's
client call (starter.commands.send_message, what `duban task receive` sends) from 100
concurrent senders, and the bare update (bench/signoff.py) — the HTTP figure's ratio to
bare is the one the target is on.

The directory is the example (deploy/examples/directory.yaml) with 100 clerks (经办人)
added as members of the lead unit; the one in the database before is put back after.
Before the timed requests each clerk asks for its first task once (GET), so its
connection is open and the service's pool grown, as in a service already in use; the CPU
each process spent while the requests ran is recorded per sign-off."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from activities import directory as store
from activities import identity
from activities.directory import Person
from bench.proc import Cpu
from bench.signoff import (
    SENDERS,
    Trips,
    bare_side,
    cli_round_trips,
    lanes,
    quiet,
    start_duban,
    tasks_per_sender,
)
from bench.stack import Served, Stack, duban_serve
from bench.tasks import LEAD, duban_worker
from starter.directoryfile import read_directory
from workflows.names import Action, Stage

EXAMPLE = Path(__file__).parents[1] / "deploy" / "examples" / "directory.yaml"
RECEIVE = Action.RECEIVE.value
# uvicorn closes a connection idle for 5 s; a clerk's client that waited longer than that
# opens a new one rather than race the close (a POST on it would fail with ReadError).
IDLE = httpx.Limits(keepalive_expiry=4.0)


@contextlib.asynccontextmanager
async def clerks(stack: Stack) -> AsyncIterator[list[str]]:
    """The example directory with SENDERS clerks of the lead unit; a token for each."""
    before = await store.load(stack.pool)
    directory = read_directory(EXAMPLE)
    people = [f"bench.clerk{i:03d}" for i in range(SENDERS)]
    for i, person in enumerate(people):
        directory.people[person] = Person(person, f"经办员{i:03d}", mobile=f"139{i:08d}")
        directory.members.add(("member", LEAD, person))
    await store.replace(stack.pool, directory)
    now = datetime.now(UTC)
    tokens = [(await identity.issue(stack.pool, p, 1, "bench", now))[0] for p in people]
    try:
        yield tokens
    finally:
        await store.replace(stack.pool, before)


async def http_round_trips(
    url: str, tokens: list[str], ids: list[str], go: Callable[[], None]
) -> Trips:
    """Each clerk on its own connection signs its tasks one after another; an answer other
    than 200 with the task received is timed and counted by status and reason, and the
    clerk goes on. `go` is called once, when every clerk is warm and the first timed
    request is about to leave."""
    trips = Trips()
    warmed = asyncio.Barrier(len(tokens))  # the clock starts when every clerk is warm

    async def sender(token: str, mine: list[str]) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=url, headers=headers, timeout=300, limits=IDLE
        ) as http:
            warm = await http.get(f"/api/tasks/{mine[0]}")
            if warm.status_code != 200:
                raise RuntimeError(f"GET /api/tasks/{mine[0]}: {warm.status_code} {warm.text}")
            if await warmed.wait() == 0:
                go()
            for task_id in mine:
                t0 = time.perf_counter()
                answer = await http.post(f"/api/tasks/{task_id}/{RECEIVE}", json={})
                trips.took.append(time.perf_counter() - t0)
                if answer.status_code != 200 or answer.json()["stage"] != Stage.RECEIVED:
                    trips.failed[f"{answer.status_code} {answer.text[:80]}"] += 1

    # One sender failing cancels the others (a TaskGroup), none left waiting on the rest.
    try:
        async with asyncio.TaskGroup() as group:
            for token, mine in zip(tokens, lanes(ids), strict=True):
                group.create_task(sender(token, mine))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return trips


async def run(stack: Stack, n: int) -> dict[str, Any]:
    total = SENDERS * tasks_per_sender(n)
    tag = uuid.uuid4().hex[:6]
    queue = f"signoff-http-{tag}"
    cli_prefix, http_prefix = f"SIGN-{tag}-", f"HSIGN-{tag}-"
    cli_ids = [f"{cli_prefix}{i:05d}" for i in range(total)]
    http_ids = [f"{http_prefix}{i:05d}" for i in range(total)]
    async with (
        duban_worker(stack, queue),
        clerks(stack) as tokens,
        duban_serve(stack, queue) as served,
    ):
        await start_duban(stack, queue, cli_prefix, cli_ids)
        await start_duban(stack, queue, http_prefix, http_ids)
        cpu = _cpu(stack, served)
        cpu.start()
        cli = (await cli_round_trips(stack, cli_ids)).figures()
        cli["cpu_ms_per_request"] = cpu.per_request_ms(total)
        await quiet(stack, cli_prefix)  # the receipts' notices sent before the next side
        http = (await http_round_trips(served.url, tokens, http_ids, cpu.start)).figures()
        http["cpu_ms_per_request"] = cpu.per_request_ms(total)
    return {
        "senders": SENDERS,
        "tasks_per_sender": total // SENDERS,
        "http": http,
        "cli": cli,
        "bare": await bare_side(stack, tag, total, _cpu(stack)),
    }


def _cpu(stack: Stack, served: Served | None = None) -> Cpu:
    pids = {"duban serve": served.pid} if served is not None else {}
    return Cpu({"bench: worker, senders": os.getpid(), "Temporal": stack.temporal_pid(), **pids})
