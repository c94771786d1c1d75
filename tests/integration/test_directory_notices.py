"""A notice names a role and a unit; it reaches the holder, or the stand-in while the holder
is away, and the ledger says whom and why."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from activities.channels import WebhookChannel
from activities.notify import NotifyActivities
from tests.peers import WebhookReceiver
from workflows.contracts import Notice


def notice(role: str, unit: str = "区司法局") -> Notice:
    return Notice(
        task_id=f"T-dir-{uuid.uuid4().hex[:8]}",
        seq=5,
        title="完善行政执法协调机制",
        level=2,
        role=role,
        unit=unit,
        kind="escalation",
        text="已升级至副秘书长",  # type: ignore[arg-type]
    )


async def test_a_deputy_on_leave_is_reached_through_the_stand_in(
    pool: asyncpg.Pool, webhook: WebhookReceiver, directory: None
) -> None:
    activities = NotifyActivities(pool, {"webhook": WebhookChannel(webhook.url)})
    n = notice("deputy_secretary_general")
    outcome = await activities.send_notice(n)
    assert (outcome.person, outcome.via) == ("qian.qi", "stand-in for zhao.liu")
    [sent] = webhook.for_task(n.task_id)
    assert sent["person"] == {"id": "qian.qi", "name": "钱七"}
    assert sent["reached_via"] == "stand-in for zhao.liu"
    row = await pool.fetchrow(
        "SELECT person_id, reached_via, status FROM notifications WHERE task_id = $1", n.task_id
    )
    assert row is not None and dict(row) == {
        "person_id": "qian.qi",
        "reached_via": "stand-in for zhao.liu",
        "status": "delivered",
    }
    head = await activities.send_notice(notice("lead_unit"))
    assert (head.person, head.via) == ("zhang.san", "holder")


async def test_a_role_nobody_holds_fails_for_good_and_is_recorded(
    pool: asyncpg.Pool, webhook: WebhookReceiver, directory: None
) -> None:
    from temporalio.exceptions import ApplicationError

    activities = NotifyActivities(pool, {"webhook": WebhookChannel(webhook.url)})
    n = notice("deputy_secretary_general", unit="区教育局")
    with pytest.raises(ApplicationError) as info:
        await activities.send_notice(n)
    assert info.value.non_retryable and "nobody holds" in str(info.value)
    assert webhook.for_task(n.task_id) == []
    row = await pool.fetchrow("SELECT status FROM notifications WHERE task_id = $1", n.task_id)
    assert row is not None and row["status"] == "failed"


async def test_the_worker_sees_a_change_to_the_directory_on_its_next_notice(
    pool: asyncpg.Pool, webhook: WebhookReceiver, directory: None
) -> None:
    """The worker keeps the directory between notices (activities.directory.Held): the
    absence ended by hand in PostgreSQL is obeyed by the very next notice, and the five
    tables are read again only then."""
    activities = NotifyActivities(pool, {"webhook": WebhookChannel(webhook.url)})
    first = await activities.send_notice(notice("deputy_secretary_general"))
    assert (first.person, first.via) == ("qian.qi", "stand-in for zhao.liu")
    kept = await activities.directory.now(pool)
    assert await activities.directory.now(pool) is kept  # nothing moved: not read again
    await pool.execute("DELETE FROM absences")  # the fixture sets the directory anew
    back = await activities.send_notice(notice("deputy_secretary_general"))
    assert (back.person, back.via) == ("zhao.liu", "holder")
    assert await activities.directory.now(pool) is not kept
