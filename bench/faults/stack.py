"""The fault suite's own stack, in a temporary directory: a Temporal dev server and an
embedded PostgreSQL started as `duban up` starts them, the receivers, and the worker as a
process of its own (`python -m worker`, its log in worker.log), each of which a scenario
kills, stops or takes down and brings back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client

from activities import directory as people
from activities.migrations import migrate
from bench.stack import _wait_for_port, free_ports, payload_keys
from starter.directoryfile import read_directory
from starter.ops import dev_server_flags
from starter.stack import _binary, _wait_for_temporal, embedded_postgres
from worker.client import connect

TASK_QUEUE = "faults"
DIRECTORY = Path(__file__).with_name("directory.yaml")


@dataclass
class FaultStack:
    directory: Path
    temporal_port: int
    database_url: str
    hook_url: str
    robot_url: str
    control_url: str
    client: Client
    pool: asyncpg.Pool
    temporal: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    restarts: dict[str, int] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def worker_log(self) -> Path:
        return self.directory / "worker.log"

    def log_bytes(self) -> int:
        return self.worker_log.stat().st_size if self.worker_log.exists() else 0

    # ---- Temporal --------------------------------------------------------------------

    def start_temporal(self) -> None:
        command = [
            _binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(self.directory / "temporal.db"),
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.temporal_port),
            "--headless",
            "--log-level",
            "warn",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            *dev_server_flags(),
        ]
        with (self.directory / "temporal.log").open("ab") as log:
            self.temporal = subprocess.Popen(
                command, stdout=log, stderr=log, start_new_session=True
            )

    def kill_temporal(self) -> None:
        assert self.temporal is not None
        self.temporal.send_signal(signal.SIGKILL)
        self.temporal.wait()

    # ---- PostgreSQL ------------------------------------------------------------------

    def stop_postgres(self) -> None:
        """PostgreSQL stopped as a crash stops it: no checkpoint, every connection cut."""
        import pgserver
        from pgserver._commands import pg_ctl

        server = pgserver.get_server(self.directory / "pg", cleanup_mode="stop")
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)

    def start_postgres(self) -> None:
        import pgserver

        server = pgserver.get_server(self.directory / "pg", cleanup_mode="stop")
        server.ensure_postgres_running()

    # ---- the worker ------------------------------------------------------------------

    def start_worker(self) -> None:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.address,
            "DUBAN_DATABASE_URL": self.database_url,
            "DUBAN_TASK_QUEUE": TASK_QUEUE,
            "DUBAN_WEBHOOK_URL": self.hook_url,
            "DUBAN_WECOM_URL": self.robot_url,
            "DUBAN_DATA_DIR": str(self.directory),
        }
        with self.worker_log.open("ab") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "worker"], stdout=log, stderr=log, env=env
            )

    def signal_worker(self, sig: int) -> None:
        assert self.worker is not None
        self.worker.send_signal(sig)

    async def worker_exited(self, timeout: float) -> int:
        assert self.worker is not None
        return await asyncio.to_thread(self.worker.wait, timeout)

    # ---- the receivers ---------------------------------------------------------------

    async def hook(self, mode: str) -> None:
        """The webhook receiver: "up", "503" (answers 503) or "refuse" (no connection)."""
        async with httpx.AsyncClient(timeout=10) as http:
            (await http.post(f"{self.control_url}?hook={mode}")).raise_for_status()

    async def received(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.get(self.control_url)
            response.raise_for_status()
            stats: dict[str, Any] = json.loads(response.content)
            return stats


async def _wait_for_http(url: str, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                await http.get(url)
                return
            if loop.time() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def fault_stack(keep: Path | None = None) -> AsyncIterator[FaultStack]:
    """A fresh stack: servers, receivers and the directory; the worker not yet started.
    Payloads are sealed as in production (bench.stack.payload_keys)."""
    payload_keys()
    with contextlib.ExitStack() as exits:
        if keep is None:
            made = tempfile.TemporaryDirectory(prefix="duban-faults-")
            directory = Path(exits.enter_context(made))
        else:
            directory = keep
            directory.mkdir(parents=True, exist_ok=True)
        database_url = exits.enter_context(embedded_postgres(directory))
        hook_port, robot_port, control_port, temporal_port = free_ports(4)
        with (directory / "receivers.log").open("ab") as log:
            receivers = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.faults.receivers",
                    str(hook_port),
                    str(robot_port),
                    str(control_port),
                ],
                stdout=log,
                stderr=log,
            )
        stack: FaultStack | None = None
        try:
            control_url = f"http://127.0.0.1:{control_port}/control"
            await _wait_for_http(control_url)
            await _wait_for_port(f"http://127.0.0.1:{robot_port}/")
            async with asyncpg.create_pool(database_url, min_size=1, max_size=4) as pool:
                async with pool.acquire() as conn:
                    await migrate(conn)
                await people.replace(pool, read_directory(DIRECTORY))
                stack = FaultStack(
                    directory=directory,
                    temporal_port=temporal_port,
                    database_url=database_url,
                    hook_url=f"http://127.0.0.1:{hook_port}/hook",
                    robot_url=f"http://127.0.0.1:{robot_port}/robot",
                    control_url=control_url,
                    client=None,  # type: ignore[arg-type]
                    pool=pool,
                )
                stack.start_temporal()
                await _wait_for_temporal(stack.address)
                stack.client = await connect(stack.address)
                try:
                    yield stack
                finally:
                    await _stop(stack)
        finally:
            receivers.terminate()
            receivers.wait(timeout=10)


async def _stop(stack: FaultStack) -> None:
    for process in (stack.worker, stack.temporal):
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
