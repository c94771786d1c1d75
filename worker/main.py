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
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities.calendar import CalendarActivities, WorkingCalendar
from activities.channels import Channel
from activities.channels import build as configured_channels
from activities.digest import DigestActivities
from activities.drain import Drains
from activities.ledger import LedgerActivities
from activities.migrations import migrate
from activities.notify import NotifyActivities
from activities.sql import keep_session
from activities.telling import TellingActivities
from worker import faults
from worker.client import connect as connect  # re-exported for starter/stack.py, a test
from worker.interceptors import StuckWatch, WorkerInterceptor
from worker.metrics import publish_open_tasks, publish_stuck_tasks
from worker.settings import Settings
from workflows.digest import WeeklyDigestWorkflow
from workflows.task import TaskWorkflow

log = structlog.get_logger(__name__)

# pydantic is deterministic and heavy to re-import per workflow run: share it. So are
# duban's contracts and policy: plain data definitions with no state and no I/O, whose
# pydantic models cost more to build than the rest of a new workflow run together (the
# benchmarks' profile: 60% of the worker's time in re-importing them; bench/README), and
# the other modules of constants and pure functions the workflow reads.
SHARED = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "workflows.contracts",
    "workflows.policy",
    "workflows.durations",
    "workflows.windows",
    "workflows.core",
    "workflows.names",
    "workflows.releases",
    "workflows.activity_names",
    "workflows.errors",
)


def sandbox(*workflow_modules: str) -> SandboxedWorkflowRunner:
    """The SDK's sandbox, sharing SHARED and `workflow_modules` with the worker instead of
    importing them afresh for every new workflow run."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*SHARED, *workflow_modules)
    return SandboxedWorkflowRunner(restrictions=restrictions)


# The worker's: the workflow modules themselves are shared too. Importing workflows/task.py
# afresh, with its @workflow.defn, was half of what a new run cost the worker (5-6 ms of
# 11, tests/replay's first workflow task); starts rose by a tenth to three tenths.
# They hold no state of their own: constants, and classes whose state is per instance.
# What sharing gives up is the sandbox's guard on their calls (datetime.now() and the
# like, which they never make); STRICT keeps that guard for the tests: the workflow tests
# run under it, and every recorded history replays under both.
SANDBOX = sandbox("workflows")
STRICT = sandbox()


def compile_for_sandbox(package: Path = Path(workflows.__file__).parent) -> None:
    """Bring the workflow modules' bytecode up to date. A sandbox that imports them afresh
    for every new workflow run (STRICT; the bare benchmark's), with no current bytecode
    beside them (a fresh checkout, or PYTHONDONTWRITEBYTECODE set), compiles the source
    again at every import: a quarter of the worker's time when tasks start fast
    (bench/README). A read-only install is left as it is: its bytecode was compiled when it
    was installed."""
    compileall.compile_dir(package, quiet=2, maxlevels=0)


@contextlib.asynccontextmanager
async def open_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(
        database_url, min_size=1, max_size=10, reset=keep_session
    ) as pool:
        async with pool.acquire() as conn:
            applied = await migrate(conn)
        if applied:
            log.info("schema migrated", applied=applied)
        yield pool


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Every channel whose settings turn it on (activities/channels/)."""
    return configured_channels(settings.model_extra)


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    watch: StuckWatch | None = None,
    monitor: faults.Monitor | None = None,
    drains: Drains | None = None,
    runner: SandboxedWorkflowRunner = SANDBOX,
) -> Worker:
    """The worker; `watch` keeps what it sees stuck, `monitor` what it finds unreachable,
    `drains` sends a channel's backlog oldest first when it comes back (a new one of each
    when not given); `runner`: STRICT for the workflow tests."""
    compile_for_sandbox()
    monitor = monitor or faults.Monitor()
    channels = build_channels(settings)
    calendar = CalendarActivities(
        WorkingCalendar(settings.timezone, settings.closing_time, settings.opening_time), pool
    )
    ledger = LedgerActivities(pool)
    notify = NotifyActivities(
        pool, channels, settings.link_url, calendar.calendar, settings.action_link_url, monitor
    )
    (drains or Drains(pool)).serve(notify)
    digest = DigestActivities(pool, notify)
    telling = TellingActivities(ledger, notify)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[TaskWorkflow, WeeklyDigestWorkflow],
        activities=[
            ledger.record_events,
            telling.record_and_notify,
            notify.send_notice,
            notify.send_notices,
            calendar.working_deadline,
            calendar.margin_start,
            calendar.working_hours_from,
            calendar.working_year,
            digest.send_weekly_digest,
        ],
        workflow_runner=runner,
        interceptors=[WorkerInterceptor(watch), faults.FaultInterceptor(monitor)],
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        # Let in-flight activities (a notification being sent) finish when the pod stops.
        graceful_shutdown_timeout=timedelta(seconds=settings.shutdown_grace_seconds),
    )


async def run(settings: Settings, client: Client, stop: asyncio.Event) -> None:
    """Run until `stop` is set, then finish in-flight work and return."""
    if settings.database_url is None:
        raise SystemExit("duban worker: set DUBAN_DATABASE_URL to a PostgreSQL URL")
    monitor = faults.Monitor()
    faults.quiet_while_down(monitor)
    async with open_pool(settings.database_url.get_secret_value()) as pool:
        watch = StuckWatch()
        drains = Drains(pool)
        worker = build_worker(client, pool, settings, watch, monitor, drains)
        runtime = client.service_client.config.runtime or Runtime.default()
        background = [
            asyncio.create_task(publish_open_tasks(pool, runtime, stop, monitor=monitor)),
            asyncio.create_task(publish_stuck_tasks(client, watch, runtime, stop)),
            *faults.watch(client, pool, monitor, stop),
        ]
        async with worker:
            log.info("worker running", task_queue=settings.task_queue)
            await stop.wait()
        await drains.close()
        await asyncio.gather(*background)
