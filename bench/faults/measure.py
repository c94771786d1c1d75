"""What a scenario cost: tasks lost and stuck, the ledger against each workflow's state,
notices expected, delivered and missing, duplicates at each receiver, recovery time and
the largest delay."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from datetime import datetime
from typing import Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.notify import BACKOFF_CAP, idempotency_key
from bench.faults.stack import FaultStack
from workflows.contracts import Notice, NoticeOutcome, TaskState
from workflows.names import EventKind
from workflows.task import TaskWorkflow

RECEIVERS = ("webhook", "wecom")  # the deduplicating receiver, the robot


async def _each(ids: list[str], job: Any, lanes: int = 16) -> list[Any]:
    results: dict[str, Any] = {}
    cursor = iter(ids)

    async def lane() -> None:
        for task_id in cursor:
            results[task_id] = await job(task_id)

    await asyncio.gather(*(lane() for _ in range(min(lanes, len(ids)))))
    return [results[i] for i in ids]


async def _workflow(stack: FaultStack, task_id: str) -> dict[str, Any]:
    """The workflow's state, whether it runs, and whether it is stuck (a workflow task that
    keeps failing, an activity still being retried once everything has settled)."""
    handle = stack.client.get_workflow_handle(task_id)
    try:
        described = await handle.describe()
    except RPCError:
        return {"lost": True}
    raw = described.raw_description
    retrying = [a.activity_type.name for a in raw.pending_activities if a.attempt > 1]
    failing = raw.HasField("pending_workflow_task") and raw.pending_workflow_task.attempt > 1
    if described.status != WorkflowExecutionStatus.RUNNING:
        return {"lost": True, "status": str(described.status)}
    state = await handle.query(TaskWorkflow.status)
    return {"lost": False, "state": state, "retrying": retrying, "failing": failing}


# An activity still being retried when the outbox has nothing left to send is waiting out
# its backoff (at most BACKOFF_CAP) before it finds its notices delivered by the channel's
# drain (activities.drain): stuck only if it is still retried after that.
PATIENCE = BACKOFF_CAP.total_seconds() + 60.0


async def _past_backoff(
    stack: FaultStack, ids: list[str], patience: float = PATIENCE
) -> list[dict[str, Any]]:
    """Each workflow as _workflow says, asked again while some are being retried, until
    none is or `patience` has passed."""
    deadline = time.monotonic() + patience
    workflows = await _each(ids, lambda i: _workflow(stack, i))
    while time.monotonic() < deadline:
        again = [i for i, w in zip(ids, workflows, strict=True) if w.get("retrying")]
        if not again:
            break
        await asyncio.sleep(5)
        fresh = dict(zip(again, await _each(again, lambda i: _workflow(stack, i)), strict=True))
        workflows = [fresh.get(i, w) for i, w in zip(ids, workflows, strict=True)]
    return workflows


def _ledger_disagrees(state: TaskState, row: Any, events: int) -> list[str]:
    """Where the ledger's row for the task says otherwise than the workflow."""
    if row is None:
        return ["no row"]
    said = []
    if row["stage"] != state.stage.value:
        said.append(f"stage {row['stage']} != {state.stage.value}")
    if row["escalation_level"] != state.escalation_level:
        said.append(f"level {row['escalation_level']} != {state.escalation_level}")
    if row["last_seq"] != state.seq or events != state.seq:
        said.append(f"events {events}/{row['last_seq']} != {state.seq}")
    if state.unrecorded:
        said.append(f"{len(state.unrecorded)} events unrecorded")
    return said


def _outcome_disagrees(outcome: NoticeOutcome, rows: dict[tuple[Any, ...], Any]) -> bool:
    """A delivered outcome whose channels the outbox does not say delivered."""
    if outcome.status != "delivered":
        return False
    for channel in outcome.channel.split("+"):
        row = rows.get((outcome.seq, outcome.role, outcome.unit, channel))
        if row is None or row["status"] != "delivered":
            return True
    return False


def _key(row: Any) -> str:
    notice = Notice(
        task_id=row["task_id"],
        seq=row["seq"],
        title="",
        level=0,
        role=row["role"],
        unit=row["unit"],
        kind="info",
        channel=row["channel"],
    )
    return idempotency_key(notice)


async def measure(
    stack: FaultStack, ids: list[str], prefix: str, began: datetime, ended: datetime
) -> dict[str, Any]:
    pattern = f"{prefix}-%"
    workflows = await _past_backoff(stack, ids)
    tasks = {
        r["id"]: r
        for r in await stack.pool.fetch(
            "SELECT id, stage, escalation_level, last_seq FROM tasks WHERE id LIKE $1", pattern
        )
    }
    events = {
        r["task_id"]: r["n"]
        for r in await stack.pool.fetch(
            "SELECT task_id, count(*) AS n FROM task_events WHERE task_id LIKE $1 GROUP BY task_id",
            pattern,
        )
    }
    outbox = await stack.pool.fetch(
        "SELECT task_id, seq, role, unit, channel, status, body, possible_duplicate, "
        "delivered_at, coalesce(due_at, created_at) AS asked_at, "
        "extract(epoch FROM lateness) AS late FROM notifications WHERE task_id LIKE $1",
        pattern,
    )
    rows_by_task: dict[str, dict[tuple[Any, ...], Any]] = {}
    for r in outbox:
        key = (r["seq"], r["role"], r["unit"], r["channel"])
        rows_by_task.setdefault(r["task_id"], {})[key] = r

    lost = stuck = 0
    mismatches: list[str] = []
    unclaimed = 0  # notices a workflow reports with no outbox row at all
    for task_id, w in zip(ids, workflows, strict=True):
        if w["lost"]:
            lost += 1
            continue
        state: TaskState = w["state"]
        spent = any(e.kind == EventKind.REMINDERS_SPENT for e in state.events)
        if not spent or w["retrying"] or w["failing"]:
            stuck += 1
        said = _ledger_disagrees(state, tasks.get(task_id), events.get(task_id, 0))
        rows = rows_by_task.get(task_id, {})
        for outcome in state.notifications:
            if not any(k[:3] == (outcome.seq, outcome.role, outcome.unit) for k in rows):
                if outcome.status not in ("no_channel", "cancelled"):
                    unclaimed += 1
            elif _outcome_disagrees(outcome, rows):
                said.append(f"notice {outcome.seq}/{outcome.role}: {outcome.status}")
        if said:
            mismatches.append(f"{task_id}: {'; '.join(said)}")

    got = await stack.received()
    figures: dict[str, Any] = {
        "lost": lost,
        "stuck": stuck,
        "ledger_mismatches": len(mismatches),
        "mismatch_examples": mismatches[:5],
    }
    figures.update(_notices(outbox, got, unclaimed))
    figures.update(_timing(outbox, began, ended))
    recorded = await stack.pool.fetchval(
        "SELECT extract(epoch FROM max(recorded_at) - $2::timestamptz) FROM task_events "
        "WHERE task_id LIKE $1 AND at <= $2",
        pattern,
        ended,
    )
    figures["ledger_caught_up_s"] = round(max(float(recorded or 0), 0.0), 1)
    figures["recovery_s"] = max(figures["recovery_s"], figures["ledger_caught_up_s"])
    return figures


def _notices(outbox: list[Any], got: dict[str, Any], unclaimed: int) -> dict[str, Any]:
    ours = [r for r in outbox if r["channel"] in RECEIVERS]
    counted = [r for r in ours if r["status"] not in ("cancelled", "no_channel")]
    delivered = [r for r in counted if r["status"] == "delivered"]
    undelivered = Counter(r["status"] for r in counted if r["status"] != "delivered")

    # The deduplicating receiver: every delivered row's key arrived; no key it did not know.
    keys: dict[str, int] = got["hook"]["keys"]
    hook_rows = {_key(r): r for r in ours if r["channel"] == "webhook"}
    hook_unseen = sum(
        1 for k, r in hook_rows.items() if r["status"] == "delivered" and k not in keys
    )
    hook_unknown = sum(1 for k in keys if k not in hook_rows)  # a notice under a second key
    hook_absorbed = sum(c - 1 for c in keys.values())  # re-sends the key made harmless

    # The robot: what it got, text by text, against the rows the outbox says delivered.
    texts: Counter[str] = Counter()
    for text, count in got["robot"]["texts"].items():
        texts[_plain(text)] += count
    robot_rows = [r for r in delivered if r["channel"] == "wecom"]
    expected = Counter(_plain(r["body"]) for r in robot_rows)
    flagged = Counter(_plain(r["body"]) for r in robot_rows if r["possible_duplicate"])
    duplicates = {t: c - expected.get(t, 0) for t, c in texts.items() if c > expected.get(t, 0)}
    robot_unseen = sum(max(0, c - texts.get(t, 0)) for t, c in expected.items())
    unflagged = sum(max(0, extra - flagged.get(t, 0)) for t, extra in duplicates.items())
    unseen_hooks = [
        f"{r['task_id']}/{r['seq']}/{r['role']}"
        for k, r in hook_rows.items()
        if r["status"] == "delivered" and k not in keys
    ]
    unseen_texts = [t[:200] for t, c in expected.items() if texts.get(t, 0) < c]
    return {
        # What did not add up, a few of each, to look into.
        "examples": {
            "robot_duplicates": [t[:200] for t in list(duplicates)[:3]],
            "robot_unseen": unseen_texts[:3],
            "hook_unseen": unseen_hooks[:3],
            "flagged": [r["body"][:200] for r in robot_rows if r["possible_duplicate"]][:3],
        },
        "notices_expected": len(counted) + unclaimed,
        "notices_delivered": len(delivered) - hook_unseen - robot_unseen,
        "notices_missing": sum(undelivered.values()) + unclaimed + hook_unseen + robot_unseen,
        "missing_by_status": dict(undelivered),
        "unclaimed": unclaimed,
        "delivered_not_received": hook_unseen + robot_unseen,
        "dedup_duplicates": hook_unknown,
        "dedup_resends_absorbed": hook_absorbed,
        "robot_duplicates": sum(duplicates.values()),
        "robot_duplicates_unflagged": unflagged,
        "possible_duplicate_rows": sum(1 for r in ours if r["possible_duplicate"]),
        "hook_answered_503": got["hook"]["answered_503"],
        "hook_cut": got["hook"]["cut"],
    }


# A notice's action link (办理：<url>) is made when it is sent, and not once its window has
# closed: a notice sent again later may carry none. The rest of its text is the same.
_ACTION = re.compile(r"办理：\S+\s?")


def _plain(text: str) -> str:
    return _ACTION.sub("", text)


def _timing(outbox: list[Any], began: datetime, ended: datetime) -> dict[str, Any]:
    delivered = [r for r in outbox if r["delivered_at"] is not None]
    late = [float(r["late"]) for r in delivered if r["late"] is not None]
    before_end = [r for r in delivered if r["asked_at"] <= ended]
    last = max((r["delivered_at"] for r in before_end), default=ended)
    backlog = [r for r in before_end if r["delivered_at"] > ended]
    inversions = 0  # on one channel, a notice delivered after a younger one
    for channel in RECEIVERS:
        mine = sorted((r for r in backlog if r["channel"] == channel), key=_at)
        order = [r["asked_at"] for r in mine]
        inversions += sum(1 for a, b in itertools.pairwise(order) if b < a)
    return {
        # From the fault's end until the last notice asked for before it had arrived.
        "recovery_s": round(max((last - ended).total_seconds(), 0.0), 1),
        "largest_delay_s": round(max(late, default=0.0), 1),
        "backlog_after_fault": len(backlog),
        "backlog_out_of_order": inversions,
        "fault_s": round((ended - began).total_seconds(), 1),
    }


def _at(row: Any) -> datetime:
    at: datetime = row["delivered_at"]
    return at
