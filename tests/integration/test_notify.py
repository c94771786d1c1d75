"""The notification outbox against PostgreSQL and a real HTTP receiver on loopback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError

from activities.channels import WebhookChannel
from activities.notify import NotifyActivities, idempotency_key
from tests.peers import WebhookReceiver
from workflows.contracts import Notice

DEADLINE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def make_notice(**fields: object) -> Notice:
    values: dict[str, object] = {
        "task_id": f"T-it-{uuid.uuid4().hex[:12]}",
        "seq": 7,
        "title": "完善行政执法协调机制",
        "level": 2,
        "role": "deputy_secretary_general",
        "unit": "区司法局",
        "kind": "escalation",
        "text": "【督办】已升级至副秘书长（第 2 级）。",
        "deadline": DEADLINE,
    }
    values.update(fields)
    return Notice.model_validate(values)


async def outbox(pool: asyncpg.Pool, notice: Notice) -> asyncpg.Record:
    row = await pool.fetchrow(
        "SELECT * FROM notifications WHERE task_id = $1 AND seq = $2 AND role = $3 "
        "AND unit = $4 AND channel = $5",
        notice.task_id,
        notice.seq,
        notice.role,
        notice.unit,
        notice.channel,
    )
    assert row is not None
    return row


@pytest.fixture
async def channel(receiver: WebhookReceiver) -> AsyncIterator[WebhookChannel]:
    chan = WebhookChannel(receiver.url, timeout=5.0)
    yield chan
    await chan.close()


async def test_sent_twice_delivered_once(
    pool: asyncpg.Pool, receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    notify = NotifyActivities(pool, {"webhook": channel})
    notice = make_notice()

    first = await notify.send_notice(notice)
    second = await notify.send_notice(notice)

    assert first.status == "delivered"
    assert first.attempts == 1
    assert first.detail == "HTTP 200"
    assert (first.seq, first.role, first.unit, first.channel) == (
        7,
        "deputy_secretary_general",
        "区司法局",
        "webhook",
    )
    assert second.status == "delivered"
    assert second.attempts == 1

    got = receiver.for_task(notice.task_id)
    assert len(got) == 1
    key = idempotency_key(notice)
    assert got[0]["idempotency_key"] == key
    assert got[0]["_idempotency_header"] == key
    assert got[0]["recipient_role"] == "deputy_secretary_general"
    assert got[0]["recipient_label"] == "副秘书长"
    assert got[0]["unit"] == "区司法局"
    assert got[0]["level"] == 2
    assert got[0]["kind"] == "escalation"
    assert got[0]["text"] == notice.text
    assert got[0]["deadline"] == DEADLINE.isoformat()

    row = await outbox(pool, notice)
    assert row["status"] == "delivered"
    assert row["attempts"] == 1
    assert row["last_error"] is None
    assert row["delivered_at"] is not None
    assert row["kind"] == "escalation"
    assert row["level"] == 2
    assert row["body"] == notice.text


async def test_each_recipient_is_a_separate_notice(
    pool: asyncpg.Pool, receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    notify = NotifyActivities(pool, {"webhook": channel})
    up = make_notice()
    copy = make_notice(task_id=up.task_id, role="lead_unit", kind="copy")

    await notify.send_notice(up)
    await notify.send_notice(copy)
    await notify.send_notice(up)

    got = receiver.for_task(up.task_id)
    assert sorted(p["recipient_role"] for p in got) == ["deputy_secretary_general", "lead_unit"]
    assert got[0]["idempotency_key"] != got[1]["idempotency_key"]


async def test_no_channel_configured(pool: asyncpg.Pool, receiver: WebhookReceiver) -> None:
    notify = NotifyActivities(pool, {})
    notice = make_notice()

    first = await notify.send_notice(notice)
    again = await notify.send_notice(notice)

    assert first.status == "no_channel"
    assert first.attempts == 0
    assert "no channel configured" in first.detail
    assert again.status == "no_channel"
    assert receiver.for_task(notice.task_id) == []
    row = await outbox(pool, notice)
    assert row["status"] == "no_channel"
    assert row["attempts"] == 0
    assert "no channel configured" in row["last_error"]
    assert row["delivered_at"] is None


async def test_unavailable_receiver_is_retried_then_delivered(
    pool: asyncpg.Pool, receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    notify = NotifyActivities(pool, {"webhook": channel})
    notice = make_notice()
    receiver.fail_next = 1

    with pytest.raises(Exception) as info:
        await notify.send_notice(notice)
    assert not isinstance(info.value, ApplicationError)  # an ordinary, retryable failure
    assert "HTTP 503" in str(info.value)
    row = await outbox(pool, notice)
    assert row["status"] == "retrying"
    assert row["attempts"] == 1
    assert "HTTP 503" in row["last_error"]
    assert row["delivered_at"] is None
    assert receiver.for_task(notice.task_id) == []

    outcome = await notify.send_notice(notice)
    assert outcome.status == "delivered"
    assert outcome.attempts == 2
    assert len(receiver.for_task(notice.task_id)) == 1
    row = await outbox(pool, notice)
    assert row["status"] == "delivered"
    assert row["attempts"] == 2
    assert row["last_error"] is None
    assert row["delivered_at"] is not None

    await notify.send_notice(notice)
    assert len(receiver.for_task(notice.task_id)) == 1


async def test_rejected_notice_fails_for_good(
    pool: asyncpg.Pool, receiver: WebhookReceiver, channel: WebhookChannel
) -> None:
    notify = NotifyActivities(pool, {"webhook": channel})
    notice = make_notice()
    receiver.status_when_failing = 400
    receiver.fail_next = 1
    try:
        with pytest.raises(ApplicationError) as info:
            await notify.send_notice(notice)
    finally:
        receiver.status_when_failing = 503
        receiver.fail_next = 0
    assert info.value.non_retryable is True
    assert info.value.type == "NotificationRejected"
    assert "HTTP 400" in str(info.value)

    row = await outbox(pool, notice)
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert "HTTP 400" in row["last_error"]

    with pytest.raises(ApplicationError) as again:  # the receiver would accept it now
        await notify.send_notice(notice)
    assert again.value.non_retryable is True and "HTTP 400" in str(again.value)
    assert receiver.for_task(notice.task_id) == []
    assert (await outbox(pool, notice))["attempts"] == 1


@pytest.mark.parametrize("status", [408, 429])
async def test_client_errors_that_mean_later_are_retried(
    pool: asyncpg.Pool, receiver: WebhookReceiver, channel: WebhookChannel, status: int
) -> None:
    notify = NotifyActivities(pool, {"webhook": channel})
    notice = make_notice()
    receiver.status_when_failing = status
    receiver.fail_next = 1
    with pytest.raises(ConnectionError):
        await notify.send_notice(notice)
    assert (await outbox(pool, notice))["status"] == "retrying"
    assert (await notify.send_notice(notice)).status == "delivered"


def test_idempotency_key_is_stable_and_distinct() -> None:
    notice = make_notice()
    key = idempotency_key(notice)
    assert key == idempotency_key(notice.model_copy(update={"text": "other words"}))
    assert key.isascii()
    assert len(key) == 32
    for change in ({"seq": 8}, {"role": "lead_unit"}, {"unit": "区财政局"}, {"channel": "sms"}):
        assert idempotency_key(notice.model_copy(update=change)) != key
