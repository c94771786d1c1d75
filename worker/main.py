"""Build and run the worker: the pool, the activities, the workflow, and the client."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities.calendar import CalendarActivities, WorkingCalendar
from activities.channels import Channel, WebhookChannel
from activities.digest import DigestActivities
from activities.ledger import LedgerActivities
from activities.migrations import migrate
from activities.notify import NotifyActivities
from activities.robots import EmailChannel, RobotChannel, SmsChannel
from worker.interceptors import LogContextInterceptor
from worker.metrics import publish_open_tasks
from worker.settings import Settings
from workflows.digest import WeeklyDigestWorkflow
from workflows.task import TaskWorkflow

log = structlog.get_logger(__name__)

# pydantic is deterministic and heavy to re-import per workflow run: share it. So are
# duban's contracts and policy: plain data definitions with no state and no I/O, whose
# pydantic models cost more to build than the rest of a new workflow run together (the
# benchmarks' profile: 60% of the worker's time in re-importing them; bench/README), and
# the other modules of constants and pure functions the workflow reads. The modules that
# hold the workflow class and its mixins are still imported afresh for every run.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_inspection",
        "workflows.contracts",
        "workflows.policy",
        "workflows.durations",
        "workflows.windows",
        "workflows.messages",
        "workflows.releases",
        "workflows.activity_names",
        "workflows.errors",
    )
)


def compile_for_sandbox(package: Path = Path(workflows.__file__).parent) -> None:
    """Bring the workflow modules' bytecode up to date. The sandbox imports them afresh for
    every new workflow run, and with no current bytecode beside them (a fresh checkout, or
    PYTHONDONTWRITEBYTECODE set) every import compiles the source again: a quarter of the
    worker's time when tasks start fast (bench/README). A read-only install is left as it
    is: its bytecode was compiled when it was installed."""
    compileall.compile_dir(package, quiet=2, maxlevels=0)


async def connect(
    address: str | None = None, namespace: str | None = None, runtime: Runtime | None = None
) -> Client:
    """A client from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or the given address), traced:
    one trace runs from `duban task start` through the workflow to its SQL statements."""
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", address or "localhost:7233")
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    return await Client.connect(
        **config,
        data_converter=pydantic_data_converter,
        interceptors=[TracingInterceptor()],
        runtime=runtime,
    )


@contextlib.asynccontextmanager
async def open_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=10) as pool:
        async with pool.acquire() as conn:
            applied = await migrate(conn)
        if applied:
            log.info("schema migrated", applied=applied)
        yield pool


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Every channel whose address is configured."""
    channels: dict[str, Channel] = {}
    if settings.webhook_url:
        channels["webhook"] = WebhookChannel(settings.webhook_url)
    robots = {
        "wecom": (settings.wecom_url, None),
        "dingtalk": (settings.dingtalk_url, _secret(settings.dingtalk_secret)),
        "feishu": (settings.feishu_url, _secret(settings.feishu_secret)),
    }
    for name, (url, secret) in robots.items():
        if url:
            channels[name] = RobotChannel(name, url, secret)
    if settings.sms_url:
        channels["sms"] = SmsChannel(
            settings.sms_url, _secret(settings.sms_key) or "", settings.sms_template
        )
    if settings.smtp_host:
        channels["email"] = EmailChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_user,
            _secret(settings.smtp_password),
            settings.smtp_starttls,
        )
    return channels


def build_worker(client: Client, pool: asyncpg.Pool, settings: Settings) -> Worker:
    compile_for_sandbox()
    channels = build_channels(settings)
    calendar = CalendarActivities(
        WorkingCalendar(settings.timezone, settings.closing_time, settings.opening_time), pool
    )
    ledger = LedgerActivities(pool)
    notify = NotifyActivities(pool, channels, settings.ui_url)
    digest = DigestActivities(pool, notify)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[TaskWorkflow, WeeklyDigestWorkflow],
        activities=[
            ledger.record_events,
            notify.send_notice,
            notify.send_notices,
            calendar.working_deadline,
            calendar.margin_start,
            calendar.working_hours_from,
            digest.send_weekly_digest,
        ],
        workflow_runner=SANDBOX,
        interceptors=[LogContextInterceptor()],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        # Let in-flight activities (a notification being sent) finish when the pod stops.
        graceful_shutdown_timeout=timedelta(seconds=settings.shutdown_grace_seconds),
    )


async def run(settings: Settings, client: Client, stop: asyncio.Event) -> None:
    """Run until `stop` is set, then finish in-flight work and return."""
    if settings.database_url is None:
        raise SystemExit("duban worker: set DUBAN_DATABASE_URL to a PostgreSQL URL")
    async with open_pool(settings.database_url.get_secret_value()) as pool:
        worker = build_worker(client, pool, settings)
        runtime = client.service_client.config.runtime or Runtime.default()
        gauges = asyncio.create_task(publish_open_tasks(pool, runtime, stop))
        async with worker:
            log.info("worker running", task_queue=settings.task_queue)
            await stop.wait()
        await gauges
