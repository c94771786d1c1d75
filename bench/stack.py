"""The stack a bench runs on: its own dev server (file DB) and PostgreSQL, as `duban up`
starts them, in a temporary directory, plus a loopback webhook peer for notices; and, for
the scenarios that call it, the HTTP service as `duban serve` runs it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from temporalio.client import Client

from bench.proc import find
from starter.stack import _wait_for_temporal, embedded_postgres, temporal_dev_server
from worker.client import connect
from worker.main import open_pool


def _ephemeral_floor() -> int:
    """Where the kernel's range for bind(0) begins (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on loopback, for servers started after this returns.
    They are below the kernel's range for bind(0), so no one picking a port of its own
    meanwhile (the dev server picks five) can take one before its server binds it, and
    every socket is held until all are chosen, so none is handed out twice. A kernel whose
    range leaves no room below it gets ports from bind(0), held the same way."""
    floor = _ephemeral_floor()
    low = 10_000 if floor >= 20_000 else 1_024
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        for _ in range(200 * count):
            sock = held.enter_context(socket.socket())
            port = low + secrets.randbelow(floor - low) if floor - low >= 1_000 else 0
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use: another (its socket closes with the rest)
                continue
            ports.append(int(sock.getsockname()[1]))
            if len(ports) == count:
                return ports
    raise RuntimeError(f"no {count} free ports on loopback below {floor}")


def free_port() -> int:
    [port] = free_ports(1)
    return port


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
def webhook_peer(directory: Path, port: int) -> Iterator[str]:
    """The peer runs in its own process so that answering notices costs the worker under
    test no CPU time and no GIL."""
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


@dataclass
class Served:
    url: str
    pid: int


@contextlib.asynccontextmanager
async def duban_serve(stack: Stack, task_queue: str) -> AsyncIterator[Served]:
    """`duban serve` in a process of its own, as production runs it (its access log and
    all, to serve.log), against this stack; yielded once /readyz says Temporal and
    PostgreSQL answer."""
    port = free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": stack.address,
        "DUBAN_DATABASE_URL": stack.database_url,
        "DUBAN_TASK_QUEUE": task_queue,
        "DUBAN_DATA_DIR": str(stack.directory),
    }
    duban = Path(sys.executable).parent / "duban"
    with (stack.directory / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [str(duban), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=log,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            await _wait_for_ready(url, process)
            yield Served(url, process.pid)
        finally:
            process.terminate()  # SIGTERM: it finishes the requests in flight and exits
            await asyncio.to_thread(process.wait, 30)


async def _wait_for_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"duban serve exited with {process.returncode} (see serve.log)")
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            if loop.time() > deadline:
                raise RuntimeError(f"duban serve was not ready on {url} within {timeout:.0f}s")
            await asyncio.sleep(0.2)


def payload_keys() -> None:
    """Payloads are sealed (worker.codec) as in production: with a key of the bench's own
    in DUBAN_CODEC_KEYS unless one is given, set before any client reads its settings and
    inherited by every process the bench starts."""
    if not (os.environ.get("DUBAN_CODEC_KEYS") or os.environ.get("DUBAN_CODEC_KEY_FILE")):
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        os.environ["DUBAN_CODEC_KEYS"] = f"bench:{key}"


@contextlib.asynccontextmanager
async def bench_stack(keep: Path | None = None) -> AsyncIterator[Stack]:
    payload_keys()
    with contextlib.ExitStack() as stack:
        if keep is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="duban-bench-"))
            )
        else:
            directory = keep
            directory.mkdir(parents=True, exist_ok=True)
        temporal_port, ui_port, peer_port = free_ports(3)
        address = stack.enter_context(temporal_dev_server(directory, temporal_port, ui_port))
        database_url = stack.enter_context(embedded_postgres(directory))
        webhook_url = stack.enter_context(webhook_peer(directory, peer_port))
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
