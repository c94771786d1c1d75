"""The weekly digest: each leader gets the tasks under them, once per week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from activities import directory as store
from activities.channels import WebhookChannel
from activities.digest import DigestActivities, compose
from activities.notify import NotifyActivities
from tests.integration.conftest import seed_task
from tests.peers import WebhookReceiver
from workflows.contracts import Stage
from workflows.windows import OFFICE_TZ


async def test_each_leader_gets_the_tasks_under_them_once_a_week(
    pool: asyncpg.Pool, webhook: WebhookReceiver, directory: None
) -> None:
    overdue = await seed_task(pool, "区司法局", Stage.ASSIGNED, level=2, due_in=-timedelta(days=1))
    soon = await seed_task(pool, "区财政局", Stage.IN_PROGRESS, due_in=timedelta(hours=5))
    elsewhere = await seed_task(
        pool, "区教育局", Stage.ASSIGNED, level=1, due_in=-timedelta(days=2)
    )
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
