"""Scenario 7, codec (issue 16 §3): what sealing every payload costs, in one run on one stack.
duban's own scenarios with the codec off (pydantic payloads as written before sealing) and
on (zlib when it shrinks, then AES-256-GCM, as every client of duban now seals): tasks
started per second (scenario 1), the deadline storm's latency (scenario 2), and Temporal's
database bytes per open task (scenario 4's measure, in this process).

Off is a client on the same connection with the plain converter; the worker built on it
reads and writes plain payloads too, so each side is whole. Off runs first: the SQLite file
is then smaller for it, which if anything flatters off. The database's bytes are its used
pages (page_count less freelist_count, read through SQLite itself, write-ahead log
included), so a checkpoint moving pages between the log and the file does not count."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from bench import starts, storm
from bench.report import Row, _num, _ratio
from bench.stack import Stack
from bench.tasks import count, duban_worker, for_each, spec, start_task, wait_for
from worker.client import DATA_CONVERTER

MODES = ("off", "on")


def _client(stack: Stack, mode: str) -> Client:
    converter = DATA_CONVERTER if mode == "on" else pydantic_data_converter
    return Client(
        stack.client.service_client,
        namespace=stack.client.namespace,
        data_converter=converter,
        interceptors=[TracingInterceptor()],
    )


def used_bytes(db: Path) -> int:
    """The bytes the dev server's SQLite database uses, as SQLite itself counts them."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int(page) * (int(pages) - int(free))


async def _open(stack: Stack, n: int) -> dict[str, Any]:
    """n tasks started and waiting on their first timers: the database's growth per task."""
    tag = uuid.uuid4().hex[:6]
    queue, like = f"codec-open-{tag}", f"CODEC-{tag}-%"
    ids = [f"CODEC-{tag}-{i:06d}" for i in range(n)]
    db = stack.directory / "temporal.db"
    before = used_bytes(db)
    async with duban_worker(stack, queue):
        await for_each(ids, lambda i: start_task(stack.client, spec(i), queue))

        async def waiting() -> bool:
            sql = "SELECT count(*) FROM tasks WHERE id LIKE $1 AND next_deadline IS NOT NULL"
            return await count(stack.pool, sql, like) >= n

        await wait_for(waiting, 1800, "codec: every open task on its timer", every=1)
        await asyncio.sleep(3)  # the last activities' completions written
    after = used_bytes(db)
    history = await stack.client.get_workflow_handle(ids[0]).fetch_history()
    return {
        "tasks": n,
        "temporal_db_bytes_per_task": (after - before) / n,
        "history_bytes_per_task": sum(e.ByteSize() for e in history.events),
        "events_per_task": len(history.events),
    }


async def run(stack: Stack, n: int) -> dict[str, Any]:
    seconds = starts.window(n)
    out: dict[str, Any] = {"tasks": n, "seconds": seconds}
    for mode in MODES:
        side = dataclasses.replace(stack, client=_client(stack, mode))
        print(f"bench: codec {mode}: starts, storm, open tasks ...", flush=True)
        out[mode] = {
            "starts": await starts.duban_side(side, seconds),
            "storm": await storm.duban_side(side, n),
            "open": await _open(side, n),
        }
    return out


def rows(s: dict[str, Any]) -> list[Row]:
    """Codec on against off: the 'duban' column is on, the 'bare' column off."""
    on, off = s["on"], s["off"]
    n = s["tasks"]
    figures = [
        ("tasks/s started", on["starts"]["per_second"], off["starts"]["per_second"]),
        ("storm max s", on["storm"]["max"], off["storm"]["max"]),
        ("storm p50 s", on["storm"]["p50"], off["storm"]["p50"]),
        (
            "Temporal DB bytes/open task",
            on["open"]["temporal_db_bytes_per_task"],
            off["open"]["temporal_db_bytes_per_task"],
        ),
        (
            "history bytes/open task",
            float(on["open"]["history_bytes_per_task"]),
            float(off["open"]["history_bytes_per_task"]),
        ),
    ]
    return [
        (f"7 codec on vs off ({n} tasks)", what, _num(a), _num(b), _ratio(a, b), "")
        for what, a, b in figures
    ]
