"""One scenario: N tasks climbing a seconds-scale ladder on a fresh stack, a fault while
they climb, and what it cost, measured against the workflows, the ledger and what the two
receivers got."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.faults import measure
from bench.faults.stack import TASK_QUEUE, FaultStack, fault_stack
from bench.stack import _wait_for_port
from starter.stack import _wait_for_temporal
from workflows.contracts import LEAD_UNIT, STAGE, TaskSpec, TaskStart
from workflows.policy import BUILTIN, Policy
from workflows.task import TaskWorkflow

# A ladder in seconds (test_mode): no receipt, so each task is warned, climbs three levels,
# is reminded once at the top, and the office is told it stalled; then it waits.
POLICY = Policy.model_validate(
    {
        **BUILTIN["demo"].model_dump(),
        "name": "faults",
        "windows": {**BUILTIN["demo"].windows.model_dump(), "receive": "15s"},
        "escalation": [
            {"level": "lead_unit", "answer_within": "15s"},
            {"level": "deputy_secretary_general", "answer_within": "15s"},
            {"level": "principal_leader", "answer_within": "15s"},
        ],
        "warning_margin": "5s",
        "max_reminders": 1,
        "quiet_hours": False,
        "test_mode": True,
    }
)
LEAD, CO_UNIT, OFFICE = "区司法局", "区财政局", "区政府办公室"
LEAD_TIME = 25.0  # seconds between the last start and the fault: the climb under way


@dataclass(frozen=True)
class Fault:
    name: str
    what: str  # as the table says it
    begin: Callable[[FaultStack], Awaitable[None]]
    end: Callable[[FaultStack], Awaitable[None]]
    lasts: float  # seconds between begin and end


async def _kill_worker(stack: FaultStack) -> None:
    stack.signal_worker(signal.SIGKILL)
    await stack.worker_exited(30)


async def _term_worker(stack: FaultStack) -> None:
    stack.signal_worker(signal.SIGTERM)  # it finishes what is in flight (its grace) and exits
    await stack.worker_exited(60)


async def _start_worker(stack: FaultStack) -> None:
    stack.start_worker()


async def _kill_temporal(stack: FaultStack) -> None:
    stack.kill_temporal()


async def _start_temporal(stack: FaultStack) -> None:
    stack.start_temporal()
    await _wait_for_temporal(stack.address)


async def _stop_postgres(stack: FaultStack) -> None:
    await asyncio.to_thread(stack.stop_postgres)


async def _start_postgres(stack: FaultStack) -> None:
    await asyncio.to_thread(stack.start_postgres)


def _hook(mode: str) -> Callable[[FaultStack], Awaitable[None]]:
    async def switch(stack: FaultStack) -> None:
        await stack.hook(mode)
        if mode == "up":
            await _wait_for_port(stack.hook_url)

    return switch


def faults(scale: float = 1.0) -> dict[str, Fault]:
    """The scenarios; `scale` shortens the outages (tests: a few seconds)."""
    return {
        "worker-kill": Fault(
            "worker-kill", "kill -9 of the worker", _kill_worker, _start_worker, 5
        ),
        "temporal-kill": Fault(
            "temporal-kill", "kill -9 of the dev server", _kill_temporal, _start_temporal, 5
        ),
        "postgres-down": Fault(
            "postgres-down",
            f"PostgreSQL down {60 * scale:.0f} s",
            _stop_postgres,
            _start_postgres,
            60 * scale,
        ),
        "webhook-503": Fault(
            "webhook-503",
            f"webhook answering 503 for {180 * scale:.0f} s",
            _hook("503"),
            _hook("up"),
            180 * scale,
        ),
        "channel-outage": Fault(
            "channel-outage",
            f"webhook unreachable {600 * scale:.0f} s",
            _hook("refuse"),
            _hook("up"),
            600 * scale,
        ),
        "worker-sigterm": Fault(
            "worker-sigterm", "SIGTERM of the worker", _term_worker, _start_worker, 2
        ),
    }


def ladder(seconds: int) -> Policy:
    """POLICY with every window and answer window this many seconds (tests: a few)."""
    span = f"{seconds}s"
    return POLICY.model_copy(
        update={
            "windows": POLICY.windows.model_copy(update={"receive": span}),
            "escalation": [r.model_copy(update={"answer_within": span}) for r in POLICY.escalation],
            "warning_margin": f"{max(seconds // 3, 1)}s",
        }
    )


def spec(task_id: str, policy: Policy = POLICY) -> TaskSpec:
    return TaskSpec(
        id=task_id,
        title="完善行政执法协调机制",
        source="区政府常务会议纪要〔2026〕12号",
        assigning_unit=OFFICE,
        lead_unit=LEAD,
        co_units=[CO_UNIT],
        standard="形成协调办法并印发",
        policy=policy,
    )


async def start_tasks(
    stack: FaultStack, ids: list[str], policy: Policy = POLICY, lanes: int = 16
) -> None:
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    cursor = iter(ids)

    async def lane() -> None:
        for task_id in cursor:
            s = spec(task_id, policy)
            await stack.client.start_workflow(
                TaskWorkflow.run,
                TaskStart(spec=s, assigned_by="faults"),
                id=task_id,
                task_queue=TASK_QUEUE,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(STAGE, "assigned"), SearchAttributePair(LEAD_UNIT, LEAD)]
                ),
            )

    await asyncio.gather(*(lane() for _ in range(min(lanes, len(ids)))))


async def run(
    fault: Fault,
    n: int,
    keep: Path | None = None,
    settle_timeout: float = 900.0,
    say: Callable[[str], None] = print,
    policy: Policy = POLICY,
    lead: float = LEAD_TIME,
) -> dict[str, Any]:
    """The scenario on a stack of its own; its figures (measure.measure)."""
    async with fault_stack(keep) as stack:
        stack.start_worker()
        prefix = f"F-{fault.name}-{uuid.uuid4().hex[:6]}"
        ids = [f"{prefix}-{i:04d}" for i in range(n)]
        await start_tasks(stack, ids, policy)
        say(f"  {n} tasks started; the fault in {lead:.0f} s")
        await asyncio.sleep(lead)
        log_before = stack.log_bytes()
        began = datetime.now(UTC)
        await fault.begin(stack)
        say(f"  {fault.what}: begun")
        await asyncio.sleep(fault.lasts)
        log_during = stack.log_bytes() - log_before
        log_text = _read_from(stack.worker_log, log_before, log_during)
        await fault.end(stack)
        ended = datetime.now(UTC)
        say(f"  {fault.what}: over after {(ended - began).total_seconds():.0f} s; settling")
        settled = await _settle(stack, prefix, n, settle_timeout)
        figures = await measure.measure(stack, ids, prefix, began, ended)
        figures.update(
            fault=fault.what,
            n=n,
            settled=settled,
            log_bytes_during=log_during,
            log_lines_during=log_text.count("\n"),
            log_names=_named(log_text),
            worker_log_bytes=stack.log_bytes(),
        )
        return figures


def _read_from(path: Path, offset: int, size: int) -> str:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(size).decode("utf-8", errors="replace")


def _named(text: str) -> list[str]:
    """Which dependencies the log names as unreachable."""
    return [d for d in ("PostgreSQL", "Temporal", "channel webhook") if f"{d} unreachable" in text]


async def _settle(stack: FaultStack, prefix: str, n: int, timeout: float) -> bool:
    """Until every task has reached the end of its climb (the office told it stalled) and
    the outbox has nothing left to send; False if `timeout` came first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # PostgreSQL may still be coming back
            done = await stack.pool.fetchval(
                "SELECT count(DISTINCT task_id) FROM task_events "
                "WHERE task_id LIKE $1 AND kind = 'reminders_spent'",
                f"{prefix}-%",
            )
            waiting = await stack.pool.fetchval(
                "SELECT count(*) FROM notifications WHERE task_id LIKE $1 "
                "AND status IN ('pending', 'sending', 'retrying')",
                f"{prefix}-%",
            )
            if done == n and waiting == 0:
                await asyncio.sleep(2)  # the last outcomes reach the workflows
                return True
        await asyncio.sleep(2)
    return False
