"""The ledger against a real PostgreSQL: a retried or replayed batch writes nothing twice."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg

from activities.ledger import LedgerActivities
from workflows.contracts import Event, LedgerBatch, Stage, TaskSnapshot, TaskSpec
from workflows.policy import BUILTIN

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def make_spec() -> TaskSpec:
    return TaskSpec(
        id=f"T-it-{uuid.uuid4().hex[:12]}",
        title="完善行政执法协调机制",
        source="区政府常务会议纪要〔2026〕12号",
        assigning_unit="区政府办公室",
        lead_unit="区司法局",
        co_units=["区财政局", "区人社局"],
        standard="形成协调办法并印发",
        due=date(2026, 12, 31),
        urgency="urgent",
        policy=BUILTIN["default"],
    )


def event(seq: int, kind: str, stage: Stage, **fields: object) -> Event:
    return Event(seq=seq, at=T0 + timedelta(minutes=seq), kind=kind, stage=stage, **fields)  # type: ignore[arg-type]


def batch(spec: TaskSpec, stage: Stage, events: list[Event], level: int = 0) -> LedgerBatch:
    return LedgerBatch(
        task=TaskSnapshot(
            spec=spec,
            stage=stage,
            escalation_level=level,
            next_deadline=T0 + timedelta(days=len(events) + 1),
            updated_at=events[-1].at,
        ),
        events=events,
    )


async def counts(pool: asyncpg.Pool, task_id: str) -> tuple[int, int, int]:
    row = await pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM tasks WHERE id = $1) AS tasks,
               (SELECT count(*) FROM task_events WHERE task_id = $1) AS events,
               (SELECT count(*) FROM escalations WHERE task_id = $1) AS escalations
        """,
        task_id,
    )
    assert row is not None
    return row["tasks"], row["events"], row["escalations"]


def first_batch(spec: TaskSpec) -> LedgerBatch:
    deadline = T0 + timedelta(days=1)
    return batch(
        spec,
        Stage.ASSIGNED,
        [
            event(1, "assigned", Stage.ASSIGNED, by="区政府办公室", deadline=deadline),
            event(2, "escalated", Stage.ASSIGNED, level=1, deadline=deadline, detail="未签收"),
            event(3, "reminded", Stage.ASSIGNED, level=1, unit="区财政局", deadline=deadline),
        ],
        level=1,
    )


async def test_the_same_batch_twice_writes_once(pool: asyncpg.Pool) -> None:
    spec = make_spec()
    ledger = LedgerActivities(pool)
    first = first_batch(spec)

    assert await ledger.record_events(first) == 3
    assert await ledger.record_events(first) == 3

    assert await counts(pool, spec.id) == (1, 3, 2)
    task = await pool.fetchrow("SELECT * FROM tasks WHERE id = $1", spec.id)
    assert task is not None
    assert task["title"] == spec.title
    assert task["lead_unit"] == "区司法局"
    assert task["co_units"] == ["区财政局", "区人社局"]
    assert task["due"] == date(2026, 12, 31)
    assert task["urgency"] == "urgent"
    assert task["stage"] == "assigned"
    assert task["escalation_level"] == 1
    assert task["last_seq"] == 3
    assert task["updated_at"] == T0 + timedelta(minutes=3)
    assert json.loads(task["policy"])["name"] == "default"
    assert json.loads(task["policy"])["windows"]["deploy"] == "3wd"

    events = await pool.fetch(
        "SELECT seq, kind, stage, unit, actor, level FROM task_events "
        "WHERE task_id = $1 ORDER BY seq",
        spec.id,
    )
    assert [tuple(r) for r in events] == [
        (1, "assigned", "assigned", None, "区政府办公室", 0),
        (2, "escalated", "assigned", None, None, 1),
        (3, "reminded", "assigned", "区财政局", None, 1),
    ]
    escalations = await pool.fetch(
        "SELECT seq, level, kind, unit, at, answer_by FROM escalations "
        "WHERE task_id = $1 ORDER BY seq",
        spec.id,
    )
    assert [tuple(r) for r in escalations] == [
        # an escalation without a unit falls back to the lead unit
        (2, 1, "escalated", "区司法局", T0 + timedelta(minutes=2), T0 + timedelta(days=1)),
        (3, 1, "reminded", "区财政局", T0 + timedelta(minutes=3), T0 + timedelta(days=1)),
    ]


async def test_a_later_batch_moves_the_task_on(pool: asyncpg.Pool) -> None:
    spec = make_spec()
    ledger = LedgerActivities(pool)
    await ledger.record_events(first_batch(spec))

    later = batch(
        spec,
        Stage.RECEIVED,
        [event(4, "received", Stage.RECEIVED, unit="区司法局", by="张三")],
        level=0,
    )
    assert await ledger.record_events(later) == 1
    assert await ledger.record_events(later) == 1

    task = await pool.fetchrow(
        "SELECT stage, last_seq, escalation_level, next_deadline, updated_at "
        "FROM tasks WHERE id = $1",
        spec.id,
    )
    assert task is not None
    assert task["stage"] == "received"
    assert task["last_seq"] == 4
    assert task["escalation_level"] == 0
    assert task["next_deadline"] == later.task.next_deadline
    assert task["updated_at"] == T0 + timedelta(minutes=4)
    assert await counts(pool, spec.id) == (1, 4, 2)


async def test_an_older_batch_replayed_later_does_not_roll_back(pool: asyncpg.Pool) -> None:
    spec = make_spec()
    ledger = LedgerActivities(pool)
    older = first_batch(spec)
    newer = batch(
        spec,
        Stage.DEPLOYED,
        [
            event(4, "received", Stage.RECEIVED, unit="区司法局"),
            event(5, "deployed", Stage.DEPLOYED, unit="区司法局"),
        ],
    )
    await ledger.record_events(older)
    await ledger.record_events(newer)
    await ledger.record_events(older)  # a late retry of the first write

    task = await pool.fetchrow(
        "SELECT stage, last_seq, escalation_level, updated_at FROM tasks WHERE id = $1", spec.id
    )
    assert task is not None
    assert task["stage"] == "deployed"
    assert task["last_seq"] == 5
    assert task["escalation_level"] == 0
    assert task["updated_at"] == T0 + timedelta(minutes=5)
    assert await counts(pool, spec.id) == (1, 5, 2)


async def test_an_older_batch_first_seen_after_a_newer_one(pool: asyncpg.Pool) -> None:
    """Even when the older batch's events are new to the ledger, the row stays current."""
    spec = make_spec()
    ledger = LedgerActivities(pool)
    await ledger.record_events(
        batch(spec, Stage.RECEIVED, [event(4, "received", Stage.RECEIVED, unit="区司法局")])
    )
    await ledger.record_events(first_batch(spec))

    task = await pool.fetchrow("SELECT stage, last_seq FROM tasks WHERE id = $1", spec.id)
    assert task is not None
    assert (task["stage"], task["last_seq"]) == ("received", 4)
    assert await counts(pool, spec.id) == (1, 4, 2)


async def test_tasks_do_not_touch_each_other(pool: asyncpg.Pool) -> None:
    one, two = make_spec(), make_spec()
    ledger = LedgerActivities(pool)
    await ledger.record_events(first_batch(one))
    await ledger.record_events(first_batch(two))
    assert await counts(pool, one.id) == (1, 3, 2)
    assert await counts(pool, two.id) == (1, 3, 2)
