"""The notices of one event sent by one activity: each still once, each with its outcome."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.channels import WebhookChannel
from activities.notify import NotifyActivities
from tests.integration.test_notify import make_notice, outbox
from tests.peers import WebhookReceiver
from workflows.contracts import Notice, NoticeBatch

ATTEMPTS = 8


@pytest.fixture
async def notify(
    pool: asyncpg.Pool,
    receiver: WebhookReceiver,
) -> AsyncIterator[NotifyActivities]:
    channel = WebhookChannel(receiver.url, timeout=5.0)
    yield NotifyActivities(pool, {"webhook": channel})
    await channel.close()


def one_event() -> list[Notice]:
    """A level-1 escalation: the lead unit first, then the co-units' copies."""
    lead = make_notice(level=1, role="lead_unit", unit="区司法局")
    return [
        lead,
        make_notice(task_id=lead.task_id, level=1, role="co_unit", unit="区财政局", kind="copy"),
        make_notice(task_id=lead.task_id, level=1, role="co_unit", unit="区人社局", kind="copy"),
    ]


def on_attempt(attempt: int, notices: int = 3) -> ActivityEnvironment:
    """An attempt as the workflow schedules it: now, with 30 s and 15 s a notice to run
    (notices=0: 8 s, so a channel that stays down is waited for 4 s)."""
    env = ActivityEnvironment()
    now = datetime.now(UTC)
    env.info = dataclasses.replace(
        env.info,
        attempt=attempt,
        scheduled_time=now,
        current_attempt_scheduled_time=now,
        start_to_close_timeout=timedelta(seconds=30 + 15 * notices if notices else 8),
    )
    return env


async def test_a_refused_notice_fails_alone_and_the_others_go(
    notify: NotifyActivities,
    receiver: WebhookReceiver,
) -> None:
    notices = one_event()
    receiver.status_when_failing, receiver.fail_next = 400, 1  # the lead unit's is refused

    outcomes = await on_attempt(1).run(
        notify.send_notices, NoticeBatch(notices=notices, attempts=ATTEMPTS)
    )

    assert [(o.unit, o.status) for o in outcomes] == [
        ("区司法局", "failed"),
        ("区财政局", "delivered"),
        ("区人社局", "delivered"),
    ]
    assert "HTTP 400" in outcomes[0].detail
    assert sorted(p["unit"] for p in receiver.for_task(notices[0].task_id)) == [
        "区人社局",
        "区财政局",
    ]


async def test_a_blip_is_tried_again_within_the_attempt_and_nothing_goes_twice(
    pool: asyncpg.Pool,
    notify: NotifyActivities,
    receiver: WebhookReceiver,
) -> None:
    notices = one_event()
    batch = NoticeBatch(notices=notices, attempts=ATTEMPTS)
    receiver.fail_next = 1  # 503: the receiver is away for a moment

    outcomes = await on_attempt(1).run(notify.send_notices, batch)

    # The lead unit's notice waited a moment at the channel's gate and went.
    assert [o.status for o in outcomes] == ["delivered"] * 3
    assert (await outbox(pool, notices[0]))["attempts"] == 2
    again = await on_attempt(2).run(notify.send_notices, batch)  # a retry: nothing twice
    assert [o.status for o in again] == ["delivered"] * 3
    got = receiver.for_task(notices[0].task_id)
    assert sorted(p["unit"] for p in got) == ["区人社局", "区司法局", "区财政局"]


async def test_a_channel_still_down_when_the_attempt_s_wait_ends_retries_the_batch(
    pool: asyncpg.Pool,
    notify: NotifyActivities,
    receiver: WebhookReceiver,
) -> None:
    notices = one_event()
    batch = NoticeBatch(notices=notices, attempts=ATTEMPTS)
    receiver.fail_next = 1000  # down for longer than the attempt waits

    with pytest.raises(ConnectionError, match=r"HTTP 503|not answering"):
        await on_attempt(1, notices=0).run(notify.send_notices, batch)
    knocks = 1000 - receiver.fail_next
    assert (await outbox(pool, notices[0]))["status"] == "retrying"
    assert knocks <= 4  # the gate: the channel was asked again a few times, not hammered

    receiver.fail_next = 0
    outcomes = await on_attempt(2).run(notify.send_notices, batch)

    assert [o.status for o in outcomes] == ["delivered"] * 3
    got = receiver.for_task(notices[0].task_id)
    assert sorted(p["unit"] for p in got) == ["区人社局", "区司法局", "区财政局"]


async def test_on_the_last_attempt_what_still_fails_is_reported_not_raised(
    pool: asyncpg.Pool,
    notify: NotifyActivities,
    receiver: WebhookReceiver,
) -> None:
    notices = one_event()
    receiver.fail_next = 1000  # down through the last attempt's wait

    outcomes = await on_attempt(ATTEMPTS, notices=0).run(
        notify.send_notices, NoticeBatch(notices=notices, attempts=ATTEMPTS)
    )

    assert [o.status for o in outcomes] == ["failed"] * 3  # each reported, none raised
    assert "HTTP 503" in outcomes[0].detail and outcomes[0].attempts == ATTEMPTS
    assert "not answering" in outcomes[1].detail  # it waited at the gate, sent nothing
    for notice in notices:
        assert (await outbox(pool, notice))["status"] == "failed"  # given up, and says so
