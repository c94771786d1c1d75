"""Integration fixtures: a directory in the shared ledger, for the tests that need one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from activities import directory as store
from activities.ledger import LedgerActivities
from starter.directoryfile import add_leave, read_directory
from tests.unit.test_directory import EXAMPLE
from workflows.contracts import Event, LedgerBatch, Light, Stage, TaskSnapshot, TaskSpec
from workflows.policy import BUILTIN


@pytest.fixture
async def directory(pool: asyncpg.Pool) -> AsyncIterator[None]:
    d = read_directory(EXAMPLE)
    d.absences.clear()
    today = date.today()
    add_leave(
        d,
        "leave",
        {
            "person": "zhao.liu",
            "from": today - timedelta(days=1),
            "to": today + timedelta(days=30),
            "stand_in": "qian.qi",
        },
    )
    await store.replace(pool, d)
    yield
    await store.replace(pool, store.Directory())  # other tests run without a directory


async def seed_task(
    pool: asyncpg.Pool,
    lead: str,
    stage: Stage,
    *,
    level: int = 0,
    due_in: timedelta = timedelta(days=3),
    kinds: tuple[str, ...] = ("assigned",),
    light: Light = "green",
    title: str = "测试任务",
) -> str:
    """A task in the ledger as the workflow would have recorded it, for report tests."""
    now = datetime.now(UTC)
    spec = TaskSpec(
        id=f"T-it-{uuid.uuid4().hex[:8]}",
        title=title,
        source="纪要",
        assigning_unit="区政府办公室",
        lead_unit=lead,
        standard="完成",
        policy=BUILTIN["default"],
    )
    snapshot = TaskSnapshot(
        spec=spec,
        stage=stage,
        escalation_level=level,
        next_deadline=now + due_in,
        updated_at=now,
        light=light,
    )
    events = [Event(seq=i, at=now, kind=k, stage=stage) for i, k in enumerate(kinds, 1)]
    await LedgerActivities(pool).record_events(LedgerBatch(task=snapshot, events=events))
    return spec.id
