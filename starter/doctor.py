"""`duban ops doctor`: does Temporal answer, does PostgreSQL, and is any task stuck? A task
is stuck when its workflow task keeps failing or an activity is past its tenth attempt
(worker/stuck.py); the running workflows on duban's task queue are found through
Temporal's visibility and each is described. A channel with notices waiting on it (the
outbox's rows being retried, activities.notify.waiting_by_channel) is named too."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from activities.notify import waiting_by_channel
from starter import db
from worker import stuck
from workflows.errors import DubanError

TIMEOUT = 10.0  # seconds each server has to answer
DESCRIBE_AT_ONCE = 8


@dataclass
class StuckTask:
    task_id: str
    workflow: str
    reasons: list[str]


@dataclass
class Report:
    temporal: str = "ok"
    postgresql: str = "ok"
    stuck: list[StuckTask] = field(default_factory=list)
    stuck_known: bool = True
    channels: list[str] = field(default_factory=list)  # each channel with notices waiting

    def lines(self) -> list[str]:
        out = [f"temporal    {self.temporal}", f"postgresql  {self.postgresql}"]
        out += [f"channel     {line}" for line in self.channels]
        if not self.stuck_known:
            out.append("stuck       unknown: Temporal did not answer")
        elif not self.stuck:
            out.append("stuck       none")
        else:
            out.append(f"stuck       {len(self.stuck)} task{'s' if len(self.stuck) > 1 else ''}")
            for task in self.stuck:
                out += [f"  {task.task_id}  {task.workflow}  {why}" for why in task.reasons]
        return out

    def problem(self) -> str | None:
        """One line saying what is wrong, or None when nothing is."""
        parts = []
        if self.stuck:
            parts.append(f"{len(self.stuck)} stuck task{'s' if len(self.stuck) > 1 else ''}")
        if not self.temporal.startswith("ok"):
            parts.append(f"temporal: {self.temporal}")
        if not self.postgresql.startswith("ok"):
            parts.append(f"postgresql: {self.postgresql}")
        parts += [f"channel {line}" for line in self.channels]
        return "; ".join(parts) or None


def running_query(task_queue: str) -> str:
    if "'" in task_queue or "\\" in task_queue:
        raise DubanError(f"task queue {task_queue!r} may not contain quotes or backslashes")
    return f"ExecutionStatus = 'Running' AND TaskQueue = '{task_queue}'"


async def find_stuck(client: Client, task_queue: str) -> list[StuckTask]:
    """Every running workflow on the task queue that is stuck, with why."""
    running = [wf async for wf in client.list_workflows(running_query(task_queue))]
    gate = asyncio.Semaphore(DESCRIBE_AT_ONCE)

    async def ask(workflow_id: str, run_id: str) -> list[str]:
        async with gate:
            return await stuck.reasons(client, workflow_id, run_id)

    found = await asyncio.gather(*(ask(wf.id, wf.run_id) for wf in running))
    return [
        StuckTask(wf.id, wf.workflow_type, why)
        for wf, why in zip(running, found, strict=True)
        if why
    ]


async def check_temporal(client: Client) -> str:
    try:
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=TIMEOUT)
        )
    except RPCError as err:
        return f"no answer: {err.status.name}: {err.message}"
    return f"ok ({client.service_client.config.target_host}, namespace {client.namespace})"


async def check_postgresql(directory: Path) -> str:
    try:
        url = db.database_url(directory)
    except DubanError as err:
        return str(err)
    try:
        conn = await asyncpg.connect(url, timeout=TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError) as err:
        return f"cannot connect: {type(err).__name__}: {err}"
    try:
        ledger = await conn.fetchval("SELECT to_regclass('task_events') IS NOT NULL")
    except asyncpg.PostgresError as err:
        return f"no answer: {type(err).__name__}: {err}"
    finally:
        await conn.close()
    return "ok" if ledger else "answers, but holds no ledger (the worker migrates it at start)"


async def check_channels(directory: Path) -> list[str]:
    """Each channel with notices waiting on it: how many, since when, the last error."""
    try:
        conn = await asyncpg.connect(db.database_url(directory), timeout=TIMEOUT)
    except (DubanError, OSError, TimeoutError, asyncpg.PostgresError):
        return []  # PostgreSQL's own line says why
    try:
        waiting = await waiting_by_channel(conn)
    except asyncpg.PostgresError:
        return []
    finally:
        await conn.close()
    return [
        f"{name}: {n} notice{'s' if n > 1 else ''} waiting since "
        f"{since.isoformat(timespec='seconds')}: {why}"
        for name, (n, since, why) in sorted(waiting.items())
    ]


async def examine(client: Client | str, directory: Path, task_queue: str) -> Report:
    """`client`, or why there is none (Temporal could not be reached)."""
    report = Report(postgresql=await check_postgresql(directory))
    if report.postgresql == "ok":
        report.channels = await check_channels(directory)
    if isinstance(client, str):
        report.temporal, report.stuck_known = client, False
        return report
    report.temporal = await check_temporal(client)
    if not report.temporal.startswith("ok"):
        report.stuck_known = False
        return report
    try:
        report.stuck = await find_stuck(client, task_queue)
    except RPCError as err:
        report.temporal = f"no answer to visibility: {err.status.name}: {err.message}"
        report.stuck_known = False
    return report
