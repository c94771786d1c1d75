"""Integration helpers: a task seeded in the ledger as the workflow would record it, and
the webhook receiver put back to its defaults."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from activities.ledger import LedgerActivities
from tests.peers import WebhookReceiver
from worker import logs
from workflows.contracts import Event, LedgerBatch, Light, Stage, TaskSnapshot, TaskSpec
from workflows.policy import BUILTIN


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


@pytest.fixture
def receiver(webhook: WebhookReceiver) -> Iterator[WebhookReceiver]:
    """The session's receiver, put back to answering 200 whatever a test did to it."""
    webhook.fail_next = 0
    webhook.status_when_failing = 503
    yield webhook
    webhook.fail_next = 0
    webhook.status_when_failing = 503


@pytest.fixture
def captured_log() -> Iterator[io.StringIO]:
    """The process's log as `python -m worker` writes it (JSON lines), into a buffer."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    out = io.StringIO()
    logs.configure(stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
