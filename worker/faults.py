"""A fault named once. When PostgreSQL, Temporal or a channel is unreachable the worker says
so in one line, naming it and since when; every minute while it lasts, one line with how
many tasks wait on it and how many attempts failed on it; one line when it is back. The
places that catch those errors feed the monitor: the activity interceptor here (every
activity's PostgreSQL errors, the ledger's first), the notify activity's channel gates
(activities.channels._gate), and the watch on the worker's Temporal client. The attempts
that fail on a dependency already named go to Temporal as benign failures, which the SDK
logs at debug: a minute of PostgreSQL away is a few lines, not a traceback per attempt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.channels.base import TemporaryFailure, error_text
from activities.notify import cancel_ended
from workflows import activity_names

log = structlog.get_logger("duban.faults")

POSTGRESQL = "PostgreSQL"
TEMPORAL = "Temporal"
EVERY_MINUTE = 60.0
PROBE_EVERY = 5.0

# The activities that read or write PostgreSQL: one that succeeds says it answers.
_USES_POSTGRES = frozenset(
    {
        activity_names.RECORD_EVENTS,
        activity_names.SEND_NOTICE,
        activity_names.SEND_NOTICES,
    }
)

# Errors that mean PostgreSQL could not be reached or went away mid-statement (class 08,
# the server shutting down or starting, too many connections), not a statement it refused.
_POSTGRES_GONE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, the socket file gone
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def postgres_gone(err: BaseException) -> bool:
    if isinstance(err, TemporaryFailure):  # a channel's, named by its gate
        return False
    if isinstance(err, asyncpg.InterfaceError):  # "connection is closed", "pool is closing"
        return "clos" in str(err) or "connection" in str(err)
    return isinstance(err, _POSTGRES_GONE)


@dataclass
class Outage:
    since: datetime
    why: str
    waiting: set[str] = field(default_factory=set)  # tasks (workflow ids) waiting on it
    failures: int = 0  # attempts failed on it since the last line
    next_line: float = 0.0  # time.monotonic(): when the next minute's line is due


class Monitor:
    """What is down, since when, and who waits on it; the lines that say so."""

    def __init__(self, every: float = EVERY_MINUTE, probe_every: float = PROBE_EVERY) -> None:
        self.every, self.probe_every = every, probe_every
        self.outages: dict[str, Outage] = {}
        # While a dependency is down, how to ask it again (PostgreSQL: a SELECT 1).
        self.probes: dict[str, Callable[[], Awaitable[object]]] = {}

    def failed(self, dependency: str, why: str, waiter: str | None = None) -> None:
        outage = self.outages.get(dependency)
        if outage is None:
            outage = self.outages[dependency] = Outage(datetime.now(UTC), why)
            outage.next_line = _clock() + self.every
            log.error(
                f"{dependency} unreachable",
                dependency=dependency,
                since=outage.since.isoformat(timespec="seconds"),
                reason=why,
            )
        outage.failures += 1
        outage.why = why or outage.why
        if waiter:
            outage.waiting.add(waiter)

    def answered(self, dependency: str, waiter: str | None = None) -> None:
        outage = self.outages.pop(dependency, None)
        if outage is None:
            return
        now = datetime.now(UTC)
        log.warning(
            f"{dependency} back",
            dependency=dependency,
            since=outage.since.isoformat(timespec="seconds"),
            down_for_s=round((now - outage.since).total_seconds(), 1),
            waiting=len(outage.waiting),
        )

    def down(self) -> dict[str, datetime]:
        """What is unreachable now, and since when."""
        return {name: o.since for name, o in self.outages.items()}

    def tick(self) -> None:
        """Each outage's minute line, when due."""
        now = _clock()
        for dependency, outage in list(self.outages.items()):
            if now < outage.next_line:
                continue
            log.warning(
                f"{dependency} still unreachable",
                dependency=dependency,
                since=outage.since.isoformat(timespec="seconds"),
                waiting=len(outage.waiting),
                failed_attempts=outage.failures,
                reason=outage.why,
            )
            outage.failures = 0
            outage.next_line = now + self.every

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: the minute lines, and the probes of what is down."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.probe_every)
            for dependency, probe in list(self.probes.items()):
                if dependency not in self.outages:
                    continue
                try:
                    await asyncio.wait_for(probe(), timeout=self.probe_every)
                except Exception as err:
                    self.outages[dependency].why = error_text(err)
                else:
                    self.answered(dependency)
            self.tick()


def _clock() -> float:
    return time.monotonic()


# ---- the places that catch the errors --------------------------------------------------


class FaultInterceptor(Interceptor):
    """Every activity: an error that means PostgreSQL is away tells the monitor and goes to
    Temporal as a benign, retryable failure (the SDK logs those at debug, so the outage is
    the monitor's few lines, not a warning with a traceback per attempt); a channel's,
    already told by its gate, likewise."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.monitor)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, monitor: Monitor) -> None:
        super().__init__(next)
        self.monitor = monitor

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        try:
            result = await super().execute_activity(input)
        except TemporaryFailure as err:
            raise _benign(str(err), "ChannelUnavailable") from None
        except Exception as err:
            if not postgres_gone(err):
                raise
            why = error_text(err)
            self.monitor.failed(POSTGRESQL, why, info.workflow_id)
            raise _benign(f"{POSTGRESQL} unreachable: {why}", "PostgresUnavailable") from None
        if info.activity_type in _USES_POSTGRES:
            self.monitor.answered(POSTGRESQL, info.workflow_id)
        return result


def _benign(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, category=ApplicationErrorCategory.BENIGN)


async def watch_temporal(
    client: Client, monitor: Monitor, stop: asyncio.Event, every: float = PROBE_EVERY
) -> None:
    """The worker's client asks Temporal's frontend whether it serves, every few seconds:
    the monitor hears when it stops and when it answers again."""
    while not stop.is_set():
        try:
            serving = await client.service_client.check_health(timeout=timedelta(seconds=every))
        except Exception as err:
            monitor.failed(TEMPORAL, error_text(err))
        else:
            if serving:
                monitor.answered(TEMPORAL)
            else:
                monitor.failed(TEMPORAL, "the frontend says it is not serving")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def watch(
    client: Client, pool: asyncpg.Pool, monitor: Monitor, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """The worker's watches, until `stop`: the monitor's minute lines and probes (PostgreSQL
    asked again with a SELECT 1 while it is down), Temporal's health, and the sweep of
    outbox rows whose task ended."""
    monitor.probes[POSTGRESQL] = lambda: pool.fetchval("SELECT 1")
    return [
        asyncio.create_task(monitor.run(stop)),
        asyncio.create_task(watch_temporal(client, monitor, stop)),
        asyncio.create_task(sweep_ended(pool, monitor, stop)),
    ]


async def sweep_ended(
    pool: asyncpg.Pool, monitor: Monitor, stop: asyncio.Event, every: float = 60.0
) -> None:
    """Every minute: the outbox rows of ended tasks that will never go say `cancelled`."""
    while not stop.is_set():
        try:
            await cancel_ended(pool)
        except Exception as err:
            if not postgres_gone(err):
                raise
            monitor.failed(POSTGRESQL, error_text(err))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


def quiet_while_down(monitor: Monitor) -> None:
    """The log's handlers drop the SDK's lines about an unreachable Temporal while the
    monitor has named it (QuietWhileDown)."""
    quiet = QuietWhileDown(monitor)
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)


# The SDK's own lines about a server it cannot reach: while Temporal is known down they are
# counted into its minute line, not written one by one (the core retries every poll).
_TEMPORAL_SYMPTOMS = (
    "transport error",
    "connection refused",
    "tcp connect error",
    "error trying to connect",
    "unavailable",
    "failed completing activity",
    "failed recording heartbeat",
    "broken pipe",
    "connection reset",
    "dns error",
)


class QuietWhileDown(logging.Filter):
    """Drops the libraries' own lines about a dependency they cannot reach, counting them
    into the monitor's lines instead (and telling it of an outage they notice first):
    temporalio's about its server (the core retries every poll), asyncpg's pool about
    PostgreSQL (it retries its connections with a traceback each time)."""

    def __init__(self, monitor: Monitor) -> None:
        super().__init__()
        self.monitor = monitor

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        err = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("asyncpg"):
            if err is None or not postgres_gone(err):
                return True
            self.monitor.failed(POSTGRESQL, error_text(err))
            return False
        ours = record.name.startswith("temporalio") and not record.name.startswith(
            "temporalio.workflow"  # the workflows' own words pass as they are
        )
        if not ours:
            return True
        text = record.getMessage().lower()
        if err is not None:
            text += " " + str(err).lower()
        if not any(symptom in text for symptom in _TEMPORAL_SYMPTOMS):
            return True
        self.monitor.failed(TEMPORAL, record.getMessage()[:300])
        return False
