"""The weekly digest: each leader gets the tasks under them, once per week."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from activities import directory as store
from activities.channels import WebhookChannel
from activities.digest import DigestActivities, compose
from activities.ledger import LedgerActivities
from activities.notify import NotifyActivities
from tests.peers import WebhookReceiver
from workflows.contracts import Event, LedgerBatch, Stage, TaskSnapshot, TaskSpec
from workflows.policy import BUILTIN
from workflows.windows import OFFICE_TZ


async def task(pool: asyncpg.Pool, lead: str, stage: Stage, level: int, due_in: timedelta) -> str:
    now = datetime.now(UTC)
    spec = TaskSpec(
        id=f"T-dg-{uuid.uuid4().hex[:8]}",
        title="周报测试任务",
        source="纪要",
        assigning_unit="区政府办公室",
        lead_unit=lead,
        standard="完成",
        policy=BUILTIN["default"],
    )
    batch = LedgerBatch(
        task=TaskSnapshot(
            spec=spec,
            stage=stage,
            escalation_level=level,
            next_deadline=now + due_in,
            updated_at=now,
        ),
        events=[Event(seq=1, at=now, kind="assigned", stage=stage)],
    )
    await LedgerActivities(pool).record_events(batch)
    return spec.id


async def test_each_leader_gets_the_tasks_under_them_once_a_week(
    pool: asyncpg.Pool, webhook: WebhookReceiver, directory: None
) -> None:
    overdue = await task(pool, "区司法局", Stage.ASSIGNED, 2, -timedelta(days=1))
    soon = await task(pool, "区财政局", Stage.IN_PROGRESS, 0, timedelta(hours=5))
    elsewhere = await task(pool, "区教育局", Stage.ASSIGNED, 1, -timedelta(days=2))
    d = await store.load(pool)
    at = datetime.now(UTC)
    digests = {x.person_id: x for x in await compose(pool, d, at)}

    deputy = digests["zhao.liu"]  # covers 区司法局, 区财政局, 区人社局
    assert any(overdue in row for row in deputy.sections["逾期"])
    assert any(overdue in row for row in deputy.sections["已升级"])
    assert not any(elsewhere in row for rows in deputy.sections.values() for row in rows)
    week_of = lambda t: t.astimezone(OFFICE_TZ).isocalendar()[:2]  # noqa: E731
    due_this_week = any(soon in row for row in deputy.sections["本周到期"])
    assert due_this_week == (week_of(at + timedelta(hours=5)) == week_of(at))
    assert any(elsewhere in row for row in digests["sun.ba"].sections["逾期"])  # principal: all

    notify = NotifyActivities(pool, {"webhook": WebhookChannel(webhook.url)})
    activities = DigestActivities(pool, notify)
    sent = await activities.send_weekly_digest(at)
    again = await activities.send_weekly_digest(at)
    year, week, _ = at.astimezone(OFFICE_TZ).isocalendar()
    got = webhook.for_task(f"DIGEST-{year}-W{week:02d}")
    assert sent == again == len(digests) and len(got) == len(digests)  # once per week
    to_deputy = next(p for p in got if p["recipient_role"] == "deputy_secretary_general")
    assert to_deputy["person"]["id"] == "qian.qi"  # on leave: the stand-in reads it
    assert "【督办周报】" in to_deputy["text"] and overdue in to_deputy["text"]
