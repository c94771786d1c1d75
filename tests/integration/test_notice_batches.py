"""The notices of one event sent by one activity: each still once, each with its outcome."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

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


def on_attempt(attempt: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
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


async def test_a_temporary_failure_retries_the_batch_and_sends_nothing_twice(
    pool: asyncpg.Pool,
    notify: NotifyActivities,
    receiver: WebhookReceiver,
) -> None:
    notices = one_event()
    batch = NoticeBatch(notices=notices, attempts=ATTEMPTS)
    receiver.fail_next = 1  # 503: the lead unit's receiver is away for a moment

    with pytest.raises(ConnectionError, match="HTTP 503"):
        await on_attempt(1).run(notify.send_notices, batch)
    # The copies went on the first attempt; the lead unit's waits for the retry.
    assert (await outbox(pool, notices[0]))["status"] == "retrying"
    assert (await outbox(pool, notices[1]))["status"] == "delivered"

    outcomes = await on_attempt(2).run(notify.send_notices, batch)

    assert [o.status for o in outcomes] == ["delivered"] * 3
    got = receiver.for_task(notices[0].task_id)
    assert sorted(p["unit"] for p in got) == ["区人社局", "区司法局", "区财政局"]


async def test_on_the_last_attempt_what_still_fails_is_reported_not_raised(
    notify: NotifyActivities,
    receiver: WebhookReceiver,
) -> None:
    notices = one_event()
    receiver.fail_next = 1

    outcomes = await on_attempt(ATTEMPTS).run(
        notify.send_notices, NoticeBatch(notices=notices, attempts=ATTEMPTS)
    )

    assert [o.status for o in outcomes] == ["failed", "delivered", "delivered"]
    assert "HTTP 503" in outcomes[0].detail and outcomes[0].attempts == ATTEMPTS
