"""The weekly digest: each leader gets the tasks under them, once per week; overdue means
red, as `duban task list --light red` says; one leader who cannot be reached does not keep
the digest from the others."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from temporalio.common import RetryPolicy
from temporalio.testing import ActivityEnvironment

from activities import directory as store
from activities.channels import WebhookChannel
from activities.digest import DigestActivities, compose
from activities.notify import NotifyActivities
from tests.integration.conftest import seed_task
from tests.peers import WebhookReceiver
from workflows.contracts import Stage
from workflows.digest import DigestOutcome
from workflows.windows import OFFICE_TZ, STAGE_LABELS


def _digest_id(at: datetime) -> str:
    year, week, _ = at.astimezone(OFFICE_TZ).isocalendar()
    return f"DIGEST-{year}-W{week:02d}"


async def _send(
    activities: DigestActivities, at: datetime, *, attempt: int = 1, max_attempts: int = 0
) -> DigestOutcome:
    """The activity as the worker runs it; `max_attempts` 0: no retry policy (one attempt)."""
    env = ActivityEnvironment()
    policy = RetryPolicy(maximum_attempts=max_attempts) if max_attempts else None
    env.info = dataclasses.replace(env.info, attempt=attempt, retry_policy=policy)
    outcome: DigestOutcome = await env.run(activities.send_weekly_digest, at)
    return outcome


async def test_each_leader_gets_the_tasks_under_them_once_a_week(
    pool: asyncpg.Pool, receiver: WebhookReceiver, directory: None
) -> None:
    overdue = await seed_task(
        pool, "区司法局", Stage.ASSIGNED, level=2, due_in=-timedelta(days=1), light="red"
    )
    soon = await seed_task(pool, "区财政局", Stage.IN_PROGRESS, due_in=timedelta(hours=5))
    elsewhere = await seed_task(
        pool, "区教育局", Stage.ASSIGNED, level=1, due_in=-timedelta(days=2), light="red"
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

    notify = NotifyActivities(pool, {"webhook": WebhookChannel(receiver.url)})
    activities = DigestActivities(pool, notify)
    first = await _send(activities, at)
    again = await _send(activities, at)
    got = receiver.for_task(_digest_id(at))
    assert set(first.delivered) == set(digests) and not first.unreached
    assert again == first and len(got) == len(digests)  # once per week
    to_deputy = next(p for p in got if p["recipient_role"] == "deputy_secretary_general")
    assert to_deputy["person"]["id"] == "qian.qi"  # on leave: the stand-in reads it
    assert "stand-in for zhao.liu" in first.delivered["zhao.liu"]
    assert "【督办周报】" in to_deputy["text"] and overdue in to_deputy["text"]


async def test_overdue_is_red_as_the_task_list_says(pool: asyncpg.Pool, directory: None) -> None:
    """Red: a window or an answer missed. The deadline that runs while a task climbs is the
    ladder's answer window, still ahead, so a deadline in the past is not what "overdue" is."""
    climbing = await seed_task(  # missed its window; the answer window runs for 5 more hours
        pool, "区司法局", Stage.RECEIVED, level=1, due_in=timedelta(hours=5), light="red"
    )
    unanswered = await seed_task(  # the office missed its answer to a difficulty
        pool, "区财政局", Stage.PLANNED, due_in=timedelta(days=4), light="red"
    )
    not_red = [
        await seed_task(  # the deadline has just passed; the workflow has not climbed yet
            pool, "区司法局", Stage.DEPLOYED, due_in=-timedelta(minutes=5), light="green"
        ),
        await seed_task(pool, "区财政局", Stage.PLANNED, due_in=timedelta(hours=3), light="yellow"),
        await seed_task(
            pool, "区人社局", Stage.IN_PROGRESS, due_in=-timedelta(days=3), light="grey"
        ),
    ]
    red_open = await pool.fetchval(  # `duban task list --light red`, from the ledger
        "SELECT count(*) FROM tasks WHERE light = 'red' AND stage NOT IN ('closed', 'withdrawn')"
    )

    digests = {
        x.person_id: x for x in await compose(pool, await store.load(pool), datetime.now(UTC))
    }
    principal = digests["sun.ba"].sections["逾期"]  # the principal leader sees every task
    assert len(principal) == red_open >= 2
    deputy = digests["zhao.liu"].sections["逾期"]
    for red in (climbing, unanswered):
        assert any(red in row for row in principal) and any(red in row for row in deputy)
    for task in not_red:
        assert not any(task in row for row in principal + deputy)
    row = next(r for r in deputy if climbing in r)
    assert f"，{STAGE_LABELS['received']}，" in row and "received" not in row  # stage in Chinese
    text = digests["zhao.liu"].text("赵六", "2026年第48周")
    assert f"逾期（{len(deputy)}）" in text


@pytest.mark.parametrize("failure", ["directory", "refused", "temporary"])
async def test_a_leader_who_cannot_be_reached_does_not_stop_the_others(
    pool: asyncpg.Pool, receiver: WebhookReceiver, directory: None, failure: str
) -> None:
    """The deputy secretary-general comes first; their digest fails, the two leaders after
    them (the leader in charge, the principal leader) still get theirs."""
    # A week of its own per case, so the outbox of another case does not answer for it.
    weeks = {"directory": 0, "refused": 1, "temporary": 2}[failure]
    at = datetime(2031, 3, 3, 10, tzinfo=OFFICE_TZ) + timedelta(weeks=weeks)
    if failure == "directory":  # the stand-in is away too, and names the holder back
        today = date.today()
        leave = store.Absence(
            "qian.qi", today - timedelta(days=1), today + timedelta(days=1), "zhao.liu"
        )
        async with pool.acquire() as conn:
            await store.add_absences(conn, [leave])
    else:  # the first send, the deputy's, is refused for good or fails for now
        receiver.status_when_failing = 400 if failure == "refused" else 503
        receiver.fail_next = 1
    activities = DigestActivities(
        pool, NotifyActivities(pool, {"webhook": WebhookChannel(receiver.url)})
    )

    if failure == "temporary":  # retried by Temporal: a blip is tried again at once
        outcome = await _send(activities, at, attempt=1, max_attempts=8)
        assert set(outcome.delivered) == {"zhao.liu", "zhou.jiu", "sun.ba"}
        # The channel down through an attempt (issue 14: its gate holds the others back
        # rather than knock for each): Temporal retries; on the last attempt each still
        # undelivered is reported, and the outbox says failed.
        at += timedelta(weeks=5)  # another week: a digest of its own
        receiver.fail_next = 1000
        with pytest.raises(ConnectionError):
            await _send(activities, at, attempt=1, max_attempts=8)
        assert receiver.for_task(_digest_id(at)) == []
        outcome = await _send(activities, at, attempt=8, max_attempts=8)
        assert set(outcome.unreached) == {"zhao.liu", "zhou.jiu", "sun.ba"}
        assert all("HTTP 503" in why for why in outcome.unreached.values())
        receiver.fail_next = 0
        return
    else:
        outcome = await _send(activities, at)

    assert set(outcome.unreached) == {"zhao.liu"}
    why = {"directory": "circle", "refused": "HTTP 400", "temporary": "HTTP 503"}[failure]
    assert why in outcome.unreached["zhao.liu"]
    assert set(outcome.delivered) == {"zhou.jiu", "sun.ba"}
    got = receiver.for_task(_digest_id(at))
    assert sorted(p["person"]["id"] for p in got) == ["sun.ba", "zhou.jiu"]  # each once
    assert all("【督办周报】" in p["text"] for p in got)
    row = await pool.fetchrow(
        "SELECT status, last_error FROM notifications WHERE task_id = $1 AND role = $2",
        _digest_id(at),
        "deputy_secretary_general",
    )
    assert row is not None and row["status"] != "delivered"  # the ledger says so too
    assert why in row["last_error"]
