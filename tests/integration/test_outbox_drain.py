"""A channel's backlog drained oldest first when it comes back (activities.drain, issue 14),
against PostgreSQL and a real HTTP receiver on loopback: notices that failed across several
batches arrive in the order they were asked for, and those asked after the return are not
held behind the drain; the drain and an activity meeting on one row send it once; a drain
whose channel fails again stops and leaves its rows to be tried again; the rows of a task
that has ended are cancelled, not sent.

The outbox is shared by the session's tests: the notices here are asked days ago, older
than any another test leaves behind, so each drain here sends them first; what the
receiver gets of other tests' rows after them is left out of the assertions."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.channels import WebhookChannel
from activities.drain import Drains
from activities.ledger import LedgerActivities
from activities.notify import NotifyActivities, idempotency_key
from tests.integration.conftest import seed_task
from tests.integration.test_notify import make_notice, outbox
from tests.peers import LoopbackPeer
from workflows.contracts import Event, LedgerBatch, Notice, NoticeBatch, TaskSnapshot, TaskSpec
from workflows.names import Channel, NoticeKind, Stage
from workflows.policy import BUILTIN

LONG_AGO = timedelta(days=3)  # older than any row another test of the session leaves


class Receiver(LoopbackPeer):
    """A webhook on loopback that answers 503 while `down`, takes `delay` seconds over each
    request, goes down by itself when the key `down_at` arrives, and holds the request
    for the key `hold` until `release` is set. It keeps the Idempotency-Key of every
    request it answered 200, in the order they arrived, and counts every request."""

    def __init__(self) -> None:
        self.down = False
        self.delay = 0.0
        self.down_at: str | None = None
        self.hold: str | None = None
        self.held = threading.Event()  # the held request has arrived
        self.keys: list[str] = []
        self.requests: list[str] = []
        self._lock = threading.Lock()
        super().__init__()

    def answer(self, headers: Message, body: bytes) -> tuple[int, bytes]:
        key = headers.get("Idempotency-Key") or ""
        time.sleep(self.delay)
        with self._lock:
            self.requests.append(key)
            if key and key == self.down_at:
                self.down = True
            down = self.down
        if key and key == self.hold:
            self.held.set()
            self.release.wait(30)
        if not down:
            with self._lock:
                self.keys.append(key)
        return (503 if down else 200), b""

    def got(self, keys: set[str]) -> list[str]:
        """The keys among `keys` delivered, in the order they arrived."""
        with self._lock:
            return [k for k in self.keys if k in keys]


@pytest.fixture
def peer() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
async def sends(pool: asyncpg.Pool, peer: Receiver) -> AsyncIterator[NotifyActivities]:
    """The notify activity over the receiver, with the worker's drains."""
    channel = WebhookChannel(peer.url, timeout=10)
    notify = NotifyActivities(pool, {Channel.WEBHOOK: channel})
    drains = Drains(pool).serve(notify)
    yield notify
    await drains.close()
    await channel.close()


def attempt(n: int, asked: datetime, task_id: str, timeout: float = 30) -> ActivityEnvironment:
    """Attempt `n` of the activity that sends one task's batch, first scheduled at `asked`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        attempt=n,
        workflow_id=task_id,
        activity_id="7",
        scheduled_time=asked,
        current_attempt_scheduled_time=asked,
        start_to_close_timeout=timedelta(seconds=timeout),
    )
    return env


def batch(notices: list[Notice], last: bool = False) -> NoticeBatch:
    """A patient batch, as release 3 sends them; `last`: its give-up is within a backoff."""
    give_up = timedelta(minutes=1) if last else timedelta(days=1)
    return NoticeBatch(notices=notices, attempts=0, give_up_at=datetime.now(UTC) + give_up)


def key(n: Notice) -> str:
    return idempotency_key(n)


def drains_of(notify: NotifyActivities) -> Drains:
    assert isinstance(notify.drains, Drains)
    return notify.drains


async def until_ended(drains: Drains) -> None:
    await asyncio.wait_for(drains.wait(), timeout=60)
    assert drains.running == {}


async def rows_waiting(pool: asyncpg.Pool, notices: list[Notice], asked: datetime) -> None:
    """The outbox rows a failed attempt leaves: `pending`, with the notice as it was asked."""
    for n in notices:
        await pool.execute(
            "INSERT INTO notifications (task_id, seq, role, unit, channel, kind, level, body, "
            "status, due_at, notice) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, "
            "$10::jsonb)",
            n.task_id,
            n.seq,
            n.role,
            n.unit,
            n.channel,
            n.kind,
            n.level,
            n.text,
            asked,
            n.model_dump_json(),
        )


async def test_a_channel_s_backlog_goes_out_in_the_order_asked_when_it_is_back(
    pool: asyncpg.Pool, peer: Receiver, sends: NotifyActivities, captured_log: io.StringIO
) -> None:
    now = datetime.now(UTC)
    # Six tasks' batches of six notices each, asked at mixed times while the channel is away.
    ages = [30, 10, 50, 20, 60, 40]  # minutes, before LONG_AGO
    batches: list[tuple[datetime, list[Notice]]] = []
    for minutes in ages:
        task_id = f"T-it-{uuid.uuid4().hex[:12]}"
        notices = [
            make_notice(task_id=task_id, seq=seq, text=f"第 {seq} 条（{minutes} 分钟前）")
            for seq in range(1, 7)
        ]
        batches.append((now - LONG_AGO - timedelta(minutes=minutes), notices))

    peer.down = True
    tried = await asyncio.gather(
        *(
            attempt(1, asked, ns[0].task_id, timeout=2).run(sends.send_notices, batch(ns))
            for asked, ns in batches
        ),
        return_exceptions=True,
    )
    assert all(isinstance(t, ConnectionError) for t in tried)  # every batch failed
    statuses = {(await outbox(pool, n))["status"] for _, ns in batches for n in ns}
    assert statuses <= {"pending", "retrying"} and "retrying" in statuses

    # Back. The retry of one batch finds it so (one of its notices is the gate's probe, the
    # one notice that goes before its turn); the drain sends the rest, oldest first.
    peer.down, peer.delay = False, 0.03
    prober_asked, prober = batches[1]  # 10 minutes: one of the youngest
    with pytest.raises(ConnectionError, match="the drain sends"):  # the older: the drain's
        await attempt(2, prober_asked, prober[0].task_id).run(sends.send_notices, batch(prober))
    drains = drains_of(sends)
    assert Channel.WEBHOOK in drains.running

    # A notice asked after the return goes at once, while the drain is still at work.
    fresh = make_notice(text="回来之后的通知")
    [outcome] = await attempt(1, datetime.now(UTC), fresh.task_id).run(
        sends.send_notices, batch([fresh])
    )
    assert outcome.status == "delivered"
    assert Channel.WEBHOOK in drains.running  # not held behind the drain

    await until_ended(drains)
    everyone = [(asked, n) for asked, ns in batches for n in ns]
    ours = {key(n) for _, n in everyone} | {key(fresh)}
    got = peer.got(ours)
    in_order = [key(n) for _, n in sorted(everyone, key=lambda p: (p[0], p[1].seq))]
    # The probe is one of the retried batch's notices: the first that finds the probe due.
    # (Its first pass waits at no gate, so while it goes through the batch the gate's next
    # probe may come due at its second notice or a later one.) Never one the drain sends.
    assert got[0] in {key(n) for n in prober}
    assert [k for k in got if k != key(fresh)][1:] == [k for k in in_order if k != got[0]]
    assert got.index(key(fresh)) < len(got) - 1  # it did not wait for the drain to end
    assert sorted(got) == sorted(ours)  # each once

    # The activities' retries find their rows delivered and send nothing again.
    requests = len(peer.requests)
    for asked, ns in batches:
        outcomes = await attempt(3, asked, ns[0].task_id).run(sends.send_notices, batch(ns))
        assert [o.status for o in outcomes] == ["delivered"] * 6
    assert len(peer.requests) == requests

    rows = [await outbox(pool, n) for _, n in sorted(everyone, key=lambda p: (p[0], p[1].seq))]
    assert [r["sending_by"] for r in rows].count("drain") == len(rows) - 1
    drained = [r["delivered_at"] for r in rows if r["sending_by"] == "drain"]
    assert drained == sorted(drained)  # the ledger: when each arrived, in the order asked
    for (asked, _), r in zip(sorted(everyone, key=lambda p: (p[0], p[1].seq)), rows, strict=True):
        assert r["lateness"] == r["delivered_at"] - asked >= LONG_AGO

    said = [json.loads(x) for x in captured_log.getvalue().splitlines()]
    started = [x for x in said if x["event"] == "drain started"]
    ended = [x for x in said if x["event"] == "drain ended"]
    assert len(started) == len(ended) == 1
    assert started[0]["channel"] == Channel.WEBHOOK and started[0]["waiting"] >= 35
    assert ended[0]["sent"] >= 35 and ended[0]["stopped"] is None and "took_s" in ended[0]


async def test_the_drain_and_an_activity_meeting_on_one_row_send_it_once(
    pool: asyncpg.Pool, peer: Receiver, sends: NotifyActivities
) -> None:
    asked = datetime.now(UTC) - LONG_AGO
    drains = drains_of(sends)
    directory, wording = await _reading(sends, [])

    # The activity is sending the row: the drain, meeting it, sends nothing.
    first = make_notice()
    await rows_waiting(pool, [first], asked)
    peer.hold = key(first)
    sending = asyncio.ensure_future(
        attempt(1, asked, first.task_id).run(sends.send_notices, batch([first]))
    )
    assert await asyncio.to_thread(peer.held.wait, 10)
    assert await sends.send_again(first, directory, wording) is False
    peer.release.set()
    [outcome] = await sending
    assert outcome.status == "delivered"
    assert peer.requests.count(key(first)) == 1

    # The drain is sending the row: the activity's retry sends nothing, and its next one
    # finds it delivered.
    second = make_notice()
    await rows_waiting(pool, [second], asked)
    peer.hold, peer.held, peer.release = key(second), threading.Event(), threading.Event()
    draining = asyncio.ensure_future(sends.send_again(second, directory, wording))
    assert await asyncio.to_thread(peer.held.wait, 10)
    with pytest.raises(ConnectionError, match="being sent by drain"):
        await attempt(2, asked, second.task_id).run(sends.send_notices, batch([second]))
    peer.release.set()
    assert await draining is True
    [outcome] = await attempt(3, asked, second.task_id).run(sends.send_notices, batch([second]))
    assert outcome.status == "delivered"
    assert peer.requests.count(key(second)) == 1
    row = await outbox(pool, second)
    assert (row["status"], row["sending_by"], row["possible_duplicate"]) == (
        "delivered",
        "drain",
        False,
    )

    # Both at once over twenty rows, the activity on its last attempt (which sends itself
    # while the drain runs) going from the youngest: each row reaches the peer once.
    peer.hold, peer.delay = None, 0.02
    task_id = f"T-it-{uuid.uuid4().hex[:12]}"
    many = [make_notice(task_id=task_id, seq=seq) for seq in range(1, 21)]
    await rows_waiting(pool, many, asked)
    drains.back(Channel.WEBHOOK)
    outcomes = await attempt(9, asked, task_id).run(
        sends.send_notices, batch(many[::-1], last=True)
    )
    await until_ended(drains)
    assert [o.status for o in outcomes] == ["delivered"] * 20
    for n in many:
        assert peer.requests.count(key(n)) == 1
        assert (await outbox(pool, n))["status"] == "delivered"
    senders = {(await outbox(pool, n))["sending_by"] for n in many}
    assert senders == {"drain", f"{task_id}/{attempt(9, asked, task_id).info.workflow_run_id}/7"}


async def test_a_drain_whose_channel_fails_again_stops_and_leaves_its_rows_to_be_retried(
    pool: asyncpg.Pool, peer: Receiver, sends: NotifyActivities, captured_log: io.StringIO
) -> None:
    asked = datetime.now(UTC) - LONG_AGO
    task_id = f"T-it-{uuid.uuid4().hex[:12]}"
    notices = [make_notice(task_id=task_id, seq=seq) for seq in range(1, 11)]
    await rows_waiting(pool, notices, asked)
    peer.down_at = key(notices[3])  # away again at the fourth
    drains = drains_of(sends)

    drains.back(Channel.WEBHOOK)
    await until_ended(drains)

    ours = {key(n) for n in notices}
    assert peer.got(ours) == [key(n) for n in notices[:3]]
    statuses = [(await outbox(pool, n))["status"] for n in notices]
    assert statuses[:3] == ["delivered"] * 3
    assert statuses[3] == "retrying"  # released
    assert "HTTP 503" in (await outbox(pool, notices[3]))["last_error"]
    assert set(statuses[4:]) == {"pending"}  # not tried
    gate = sends.gates[Channel.WEBHOOK]
    assert gate.down_since is not None  # the next return starts another drain
    said = [json.loads(x) for x in captured_log.getvalue().splitlines()]
    [ended] = [x for x in said if x["event"] == "drain ended"]
    assert ended["sent"] == 3 and "HTTP 503" in ended["stopped"]

    # It comes back: a new drain sends the rest, in order.
    peer.down, peer.down_at = False, None
    gate.passing("a probe").answered()  # as a probe that finds it back tells the gate
    await until_ended(drains)
    assert peer.got(ours) == [key(n) for n in notices]
    assert {(await outbox(pool, n))["status"] for n in notices} == {"delivered"}


async def test_the_rows_of_a_task_that_has_ended_are_cancelled_not_sent(
    pool: asyncpg.Pool, peer: Receiver, sends: NotifyActivities
) -> None:
    asked = datetime.now(UTC) - LONG_AGO
    task_id = await seed_task(pool, "区司法局", Stage.ASSIGNED, kinds=("assigned", "escalated"))
    row = await pool.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)
    assert row is not None
    spec = TaskSpec(
        id=task_id,
        title=row["title"],
        source=row["source"],
        assigning_unit=row["assigning_unit"],
        lead_unit=row["lead_unit"],
        standard=row["standard"],
        policy=BUILTIN["default"],
    )
    now = datetime.now(UTC)
    snapshot = TaskSnapshot(
        spec=spec, stage=Stage.WITHDRAWN, escalation_level=1, next_deadline=None, updated_at=now
    )
    withdrawn = Event(seq=3, at=now, kind="withdrawn", stage=Stage.WITHDRAWN)
    await LedgerActivities(pool).record_events(LedgerBatch(task=snapshot, events=[withdrawn]))
    before = [make_notice(task_id=task_id, seq=seq) for seq in (1, 2)]
    its_own = make_notice(task_id=task_id, seq=3, role="lead_unit", kind=NoticeKind.INFO)
    going_on = make_notice()  # a task still running
    await rows_waiting(pool, [*before, its_own, going_on], asked)

    drains = drains_of(sends)
    drains.back(Channel.WEBHOOK)
    await until_ended(drains)

    for n in before:
        r = await outbox(pool, n)
        assert (r["status"], r["last_error"]) == ("cancelled", "the task ended before it was sent")
        assert key(n) not in peer.requests
    assert (await outbox(pool, its_own))["status"] == "delivered"  # the withdrawal's own
    assert (await outbox(pool, going_on))["status"] == "delivered"
    assert peer.got({key(n) for n in (*before, its_own, going_on)}) == [
        key(its_own),
        key(going_on),
    ]


async def _reading(notify: NotifyActivities, notices: list[Notice]) -> tuple[Any, Any]:
    from activities.directory import load
    from activities.wording import read

    return await load(notify.pool), await read(notify.pool, notices, notify.calendar, None)
