"""The stack a bench runs on: its own dev server (file DB) and PostgreSQL, as `duban up`
starts them, in a temporary directory, plus a loopback webhook peer for notices."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from temporalio.client import Client

from bench.proc import find
from starter.stack import _wait_for_temporal, embedded_postgres, temporal_dev_server
from worker.main import connect, open_pool


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Stack:
    directory: Path
    address: str
    database_url: str
    webhook_url: str
    client: Client
    pool: asyncpg.Pool

    def temporal_pid(self) -> int:
        """The dev server we started: the process whose command line names our file DB."""
        return find(str(self.directory / "temporal.db"))

    def temporal_db_bytes(self) -> int:
        """The dev server's SQLite file with its write-ahead log."""
        return sum(p.stat().st_size for p in self.directory.glob("temporal.db*"))


@contextlib.contextmanager
def webhook_peer(directory: Path) -> Iterator[str]:
    """The peer runs in its own process so that answering notices costs the worker under
    test no CPU time and no GIL."""
    port = free_port()
    log = (directory / "peer.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.peer", str(port)], stdout=log, stderr=log
    )
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def _wait_for_port(url: str, timeout: float = 20.0) -> None:
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if loop.time() > deadline:
            raise RuntimeError(f"the webhook peer did not come up on {url}")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def bench_stack(keep: Path | None = None) -> AsyncIterator[Stack]:
    with contextlib.ExitStack() as stack:
        if keep is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="duban-bench-"))
            )
        else:
            directory = keep
            directory.mkdir(parents=True, exist_ok=True)
        address = stack.enter_context(temporal_dev_server(directory, free_port(), free_port()))
        database_url = stack.enter_context(embedded_postgres(directory))
        webhook_url = stack.enter_context(webhook_peer(directory))
        await _wait_for_temporal(address)
        await _wait_for_port(webhook_url)
        client = await connect(address)
        # The migrations run as the worker's would; the bare workflows' table is ours.
        async with open_pool(database_url) as pool:
            await pool.execute(
                "CREATE TABLE IF NOT EXISTS bench_marks "
                "(key text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
            yield Stack(directory, address, database_url, webhook_url, client, pool)
