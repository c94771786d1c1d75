"""The outbox says what it knows (issue 14): a row is `sending` while its peer is called; a
retry of a `sending` row gives a deduplicating peer the same key and flags a robot's row
`possible_duplicate`; the attempt that gives up marks what failed `failed` in one log line;
a batch cancelled because its task ended marks what it had not sent `cancelled`; the rows
of an ended task's earlier events are swept to `cancelled`."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.channels import WebhookChannel
from activities.channels.wecom import WecomRobot
from activities.ledger import LedgerActivities
from activities.notify import NotifyActivities, cancel_ended, idempotency_key, waiting_by_channel
from tests.integration.conftest import seed_task
from tests.integration.test_notify import make_notice, outbox
from tests.peers import LoopbackPeer
from workflows.contracts import (
    Event,
    LedgerBatch,
    Notice,
    NoticeBatch,
    TaskSnapshot,
    TaskSpec,
)
from workflows.names import Stage
from workflows.policy import BUILTIN


class Peer(LoopbackPeer):
    """A peer on loopback that holds its first answer back until told (the worker dies
    meanwhile), keeps every request with its Idempotency-Key header, and answers as a
    webhook (200) or a robot ({"errcode": 0})."""

    def __init__(self) -> None:
        self.requests: list[tuple[str | None, dict[str, Any]]] = []
        self.first_arrived = threading.Event()
        super().__init__()

    def answer(self, headers: Message, body: bytes) -> tuple[int, bytes]:
        self.requests.append((headers.get("Idempotency-Key"), json.loads(body)))
        if len(self.requests) == 1:
            self.first_arrived.set()
            self.release.wait(30)
        return 200, b'{"errcode": 0}'


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


def attempt(n: int, give_up_at: datetime | None = None) -> ActivityEnvironment:
    """An attempt as the workflow schedules it: now, 45 s to run."""
    env = ActivityEnvironment()
    now = datetime.now(UTC)
    env.info = dataclasses.replace(
        env.info,
        attempt=n,
        scheduled_time=now,
        current_attempt_scheduled_time=now,
        start_to_close_timeout=timedelta(seconds=45),
    )
    return env


async def _killed_mid_send(notify: NotifyActivities, batch: NoticeBatch, peer: Peer) -> None:
    """The attempt dies while the peer holds its answer: as a worker killed then would."""
    sending = asyncio.ensure_future(attempt(1).run(notify.send_notices, batch))
    assert await asyncio.to_thread(peer.first_arrived.wait, 10)
    sending.cancel()  # not a cancellation asked for: the worker is simply gone
    with pytest.raises(asyncio.CancelledError):
        await sending
    peer.release.set()


async def test_a_webhook_retried_mid_send_gets_the_same_key_and_is_not_flagged(
    pool: asyncpg.Pool, peer: Peer
) -> None:
    notice = make_notice()
    channel = WebhookChannel(peer.url, timeout=10)
    notify = NotifyActivities(pool, {"webhook": channel})
    batch = NoticeBatch(notices=[notice], attempts=0, give_up_at=datetime.now(UTC) + timedelta(1))

    await _killed_mid_send(notify, batch, peer)
    assert (await outbox(pool, notice))["status"] == "sending"  # the peer may have it

    [outcome] = await attempt(2).run(notify.send_notices, batch)

    assert outcome.status == "delivered"
    row = await outbox(pool, notice)
    assert (row["status"], row["possible_duplicate"], row["attempts"]) == ("delivered", False, 2)
    keys = [key for key, _ in peer.requests]
    assert keys == [idempotency_key(notice)] * 2  # the peer can drop the second
    await channel.close()


async def test_a_robot_retried_mid_send_is_sent_again_and_flagged(
    pool: asyncpg.Pool, peer: Peer, directory: None
) -> None:
    notice = make_notice(channel="wecom")
    robot = WecomRobot(peer.url)
    notify = NotifyActivities(pool, {"wecom": robot})  # type: ignore[dict-item]
    batch = NoticeBatch(notices=[notice], attempts=0, give_up_at=datetime.now(UTC) + timedelta(1))

    await _killed_mid_send(notify, batch, peer)
    [outcome] = await attempt(2).run(notify.send_notices, batch)

    assert outcome.status == "delivered"
    row = await outbox(pool, notice)
    assert (row["status"], row["possible_duplicate"]) == ("delivered", True)
    texts = [body["text"]["content"] for _, body in peer.requests]
    assert len(texts) == 2 and texts[0] == texts[1]  # it may show twice: the row says so
    await robot.client.aclose()


async def test_a_robot_sent_once_is_not_flagged(
    pool: asyncpg.Pool, peer: Peer, directory: None
) -> None:
    peer.release.set()
    notice = make_notice(channel="wecom")
    robot = WecomRobot(peer.url)
    notify = NotifyActivities(pool, {"wecom": robot})  # type: ignore[dict-item]
    batch = NoticeBatch(notices=[notice], attempts=0, give_up_at=datetime.now(UTC) + timedelta(1))

    [outcome] = await attempt(1).run(notify.send_notices, batch)

    assert outcome.status == "delivered"
    assert (await outbox(pool, notice))["possible_duplicate"] is False
    await robot.client.aclose()


async def test_the_attempt_that_gives_up_marks_the_row_failed_in_one_line(
    pool: asyncpg.Pool, captured_log: io.StringIO
) -> None:
    notice = make_notice()
    channel = WebhookChannel("http://127.0.0.1:9/hook", timeout=2)  # nobody listens on 9
    notify = NotifyActivities(pool, {"webhook": channel})
    soon = datetime.now(UTC) + timedelta(minutes=1)  # within a backoff: this is the last
    batch = NoticeBatch(notices=[notice], attempts=0, give_up_at=soon)

    [outcome] = await attempt(5).run(notify.send_notices, batch)

    assert outcome.status == "failed" and "gave up" in outcome.detail
    assert outcome.channel == "webhook"  # the channel that failed, for the office's notice
    row = await outbox(pool, notice)
    assert row["status"] == "failed" and "ConnectError" in row["last_error"]
    lines = [json.loads(x) for x in captured_log.getvalue().splitlines()]
    given_up = [x for x in lines if x["event"].startswith("notice given up")]
    assert len(given_up) == 1
    said = given_up[0]
    assert (said["task"], said["seq"], said["channel"]) == (notice.task_id, notice.seq, "webhook")
    assert "ConnectError" in said["why"]
    await channel.close()


async def test_an_attempt_that_is_not_the_last_leaves_the_row_retrying(
    pool: asyncpg.Pool,
) -> None:
    notice = make_notice()
    channel = WebhookChannel("http://127.0.0.1:9/hook", timeout=2)
    notify = NotifyActivities(pool, {"webhook": channel})
    later = datetime.now(UTC) + timedelta(hours=1)
    batch = NoticeBatch(notices=[notice], attempts=0, give_up_at=later)

    with pytest.raises(ConnectionError):
        await attempt(1).run(notify.send_notices, batch)

    assert (await outbox(pool, notice))["status"] == "retrying"
    await channel.close()


async def test_a_batch_cancelled_because_its_task_ended_marks_what_it_had_not_sent(
    pool: asyncpg.Pool, peer: Peer
) -> None:
    first = make_notice(role="lead_unit", level=1)
    second = make_notice(task_id=first.task_id, role="co_unit", unit="区财政局", kind="copy")
    channel = WebhookChannel(peer.url, timeout=30)
    notify = NotifyActivities(pool, {"webhook": channel})
    batch = NoticeBatch(
        notices=[first, second], attempts=0, give_up_at=datetime.now(UTC) + timedelta(1)
    )
    await _row(pool, second, "retrying")  # an earlier attempt could not send it
    env = attempt(2)
    sending = asyncio.ensure_future(env.run(notify.send_notices, batch))

    assert await asyncio.to_thread(peer.first_arrived.wait, 10)
    env.cancel()  # the workflow asked: its task ended
    with pytest.raises(asyncio.CancelledError):
        await sending

    first_row, second_row = await outbox(pool, first), await outbox(pool, second)
    assert first_row["status"] == "cancelled" and "may have arrived" in first_row["last_error"]
    assert second_row["status"] == "cancelled"
    assert "before it was sent" in second_row["last_error"]
    await channel.close()


async def test_the_rows_of_an_ended_task_s_earlier_events_are_swept(
    pool: asyncpg.Pool,
) -> None:
    task_id = await seed_task(pool, "区司法局", Stage.ASSIGNED, kinds=("assigned", "escalated"))
    now = datetime.now(UTC)
    row = await pool.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)
    assert row is not None
    withdrawn = Event(seq=3, at=now, kind="withdrawn", stage=Stage.WITHDRAWN)
    before = make_notice(task_id=task_id, seq=2)
    after = make_notice(task_id=task_id, seq=3, role="lead_unit")
    for notice, status in ((before, "retrying"), (after, "retrying")):
        await _row(pool, notice, status)
    spec = TaskSpec(
        id=task_id,
        title=row["title"],
        source=row["source"],
        assigning_unit=row["assigning_unit"],
        lead_unit=row["lead_unit"],
        standard=row["standard"],
        policy=BUILTIN["default"],
    )
    snapshot = TaskSnapshot(
        spec=spec, stage=Stage.WITHDRAWN, escalation_level=1, next_deadline=None, updated_at=now
    )
    await LedgerActivities(pool).record_events(LedgerBatch(task=snapshot, events=[withdrawn]))

    assert await cancel_ended(pool) >= 1

    assert (await outbox(pool, before))["status"] == "cancelled"
    assert (await outbox(pool, after))["status"] == "retrying"  # the withdrawal's own: it goes


async def _row(pool: asyncpg.Pool, notice: Notice, status: str) -> None:
    await pool.execute(
        "INSERT INTO notifications (task_id, seq, role, unit, channel, kind, level, body, status) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        notice.task_id,
        notice.seq,
        notice.role,
        notice.unit,
        notice.channel,
        notice.kind,
        notice.level,
        notice.text,
        status,
    )


async def test_lateness_is_from_when_the_notice_was_asked_for(
    pool: asyncpg.Pool, peer: Peer
) -> None:
    peer.release.set()
    notice = make_notice()
    channel = WebhookChannel(peer.url, timeout=10)
    notify = NotifyActivities(pool, {"webhook": channel})
    env = attempt(3)
    asked = datetime.now(UTC) - timedelta(minutes=7)  # scheduled 7 minutes ago
    env.info = dataclasses.replace(env.info, scheduled_time=asked)
    batch = NoticeBatch(notices=[notice], attempts=0, give_up_at=datetime.now(UTC) + timedelta(1))

    await env.run(notify.send_notices, batch)

    row = await outbox(pool, notice)
    assert row["due_at"] == asked
    assert row["lateness"] >= timedelta(minutes=7)  # not from when the row was written
    await channel.close()


async def test_doctor_names_a_channel_with_notices_waiting_on_it(pool: asyncpg.Pool) -> None:
    from starter.doctor import Report

    first = make_notice(channel="sms", seq=41)
    second = make_notice(task_id=first.task_id, channel="sms", seq=42)
    for notice in (first, second):
        await _row(pool, notice, "retrying")
    await pool.execute(
        "UPDATE notifications SET last_error = 'HTTP 503 from http://gw/?***' WHERE task_id = $1",
        first.task_id,
    )
    delivered = make_notice(channel="dingtalk", seq=43)
    await _row(pool, delivered, "delivered")

    waiting = await waiting_by_channel(pool)

    n, since, why = waiting["sms"]
    assert n >= 2 and why.startswith("HTTP 503")
    assert "dingtalk" not in waiting  # nothing waits on it
    report = Report(channels=[f"sms: {n} notices waiting since {since:%H:%M}: {why}"])
    assert report.lines()[2].startswith("channel     sms: ")
    problem = report.problem()
    assert problem is not None and problem.startswith("channel sms: ")
    assert Report().problem() is None
