"""A channel's gate in the worker (activities.channels._gate): after a send fails for the
moment, later sends wait for the channel to answer again, one probe at a time, the oldest
waiting notice first; when it answers they go oldest first; a notice whose wait ends first
sends nothing; the fault monitor hears of it once, and once more when it is back. And the
notify activity through it, against a real receiver on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.channels import WebhookChannel
from activities.channels._gate import ChannelDown, Gate
from activities.notify import NotifyActivities
from tests.integration.test_notify import make_notice, outbox
from tests.peers import WebhookReceiver
from worker.faults import Monitor
from workflows.contracts import Notice, NoticeBatch

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.getvalue().splitlines()]


class Peer:
    """A channel's far end as the gate sees it: down until told, counting the calls that
    reach it, how many are in flight at once, and the order of the deliveries."""

    def __init__(self) -> None:
        self.up = False
        self.calls: list[str] = []
        self.delivered: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def send(self, gate: Gate, name: str, asked: datetime, until: float) -> str:
        async with gate.turn(asked, until, name) as turn:
            self.calls.append(name)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await asyncio.sleep(0.01)
            self.in_flight -= 1
            if self.up:
                turn.answered()
                self.delivered.append(name)
                return name
            turn.failed("HTTP 503")
            raise ConnectionError("HTTP 503")

    async def deliver(self, gate: Gate, name: str, asked: datetime) -> str:
        """Tried again after each failure, as Temporal retries an activity."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await self.send(gate, name, asked, loop.time() + 10)
            except ConnectionError:
                await asyncio.sleep(0.02)


async def test_a_down_channel_gets_one_probe_at_a_time_and_the_oldest_goes_first(
    captured_log: io.StringIO,
) -> None:
    monitor = Monitor()
    gate = Gate("webhook", monitor, first_probe=0.05, probe_cap=0.2)
    peer = Peer()
    loop = asyncio.get_running_loop()
    with pytest.raises(ConnectionError):  # the first failure closes the gate
        await peer.send(gate, "first", T0, loop.time() + 5)

    ages = {"n3": T0 + timedelta(minutes=3), "n1": T0 + timedelta(minutes=1)}
    ages |= {"n4": T0 + timedelta(minutes=4), "n2": T0 + timedelta(minutes=2)}
    sends = [
        asyncio.ensure_future(peer.deliver(gate, name, at))
        for name, at in ages.items()  # they arrive youngest and oldest mixed
    ]
    await asyncio.sleep(0.6)
    # While it is down they knock one at a time, ever further apart: not 4 every 20 ms.
    knocks = len(peer.calls) - 1
    assert peer.most_in_flight == 1 and 1 <= knocks <= 8

    peer.up = True
    # A probe finds it back; those that waited go, one by one. n5 comes once they have
    # gone (a fixed sleep here lost the race on a loaded machine: n5 found the gate
    # still draining and, with no time to wait, was refused).
    await asyncio.wait_for(asyncio.gather(*sends), 5)
    await peer.send(gate, "n5", T0 + timedelta(minutes=5), 0)

    # Once it answers, those that waited go oldest first, then whoever comes after.
    assert peer.delivered == ["n1", "n2", "n3", "n4", "n5"]
    said = [x["event"] for x in lines(captured_log)]
    assert said.count("channel webhook unreachable") == 1
    assert said.count("channel webhook back") == 1
    assert gate.down_since is None and gate.waiting == 0


async def test_a_notice_whose_wait_ends_first_sends_nothing() -> None:
    gate = Gate("webhook", None, first_probe=10, probe_cap=10)
    peer = Peer()
    loop = asyncio.get_running_loop()
    with pytest.raises(ConnectionError):
        await peer.send(gate, "first", T0, loop.time() + 5)
    with pytest.raises(ConnectionError):  # the one probe the gate allows at once
        await peer.send(gate, "probe", T0, loop.time() + 5)

    with pytest.raises(ChannelDown, match="webhook not answering since"):
        await peer.send(gate, "late", T0, loop.time() + 0.2)

    assert peer.calls == ["first", "probe"]  # the last never reached the peer
    assert gate.waiting == 0


async def test_only_the_oldest_few_wait_the_rest_go_back_to_temporal() -> None:
    """Each waiting notice holds one of the worker's activity slots, which the ledger's
    writes need too: at most `max_waiting` wait, the oldest."""
    gate = Gate("webhook", None, first_probe=5, probe_cap=5, max_waiting=2)
    peer = Peer()
    loop = asyncio.get_running_loop()
    with pytest.raises(ConnectionError):
        await peer.send(gate, "first", T0, loop.time() + 5)
    with pytest.raises(ConnectionError):  # the probe allowed at once; the next in 5 s
        await peer.send(gate, "probe", T0, loop.time() + 5)
    ages = {"n3": 3, "n1": 1, "n4": 4, "n2": 2}
    sends = {
        name: asyncio.ensure_future(
            peer.send(gate, name, T0 + timedelta(minutes=m), loop.time() + 30)
        )
        for name, m in ages.items()
    }
    await asyncio.sleep(0.3)

    sent_back = {name for name, f in sends.items() if f.done()}
    assert sent_back == {"n3", "n4"} and gate.waiting == 2
    for name in sent_back:
        assert isinstance(sends[name].exception(), ChannelDown)
    peer.up = True
    gate._next_probe = 0.0  # the probe's time has come (rather than wait 5 s for it)
    gate._wake()
    await asyncio.wait([sends["n1"], sends["n2"]], timeout=5)
    assert peer.delivered == ["n1", "n2"]


async def test_a_monitor_line_a_minute_counts_the_tasks_that_wait(
    captured_log: io.StringIO,
) -> None:
    monitor = Monitor(every=0.0)
    for attempt in range(50):
        monitor.failed("PostgreSQL", "[Errno 2] No such file or directory", f"T-{attempt % 7}")
    monitor.tick()
    monitor.answered("PostgreSQL")
    monitor.answered("PostgreSQL")  # once back, it is back: no second line

    said = lines(captured_log)
    assert [x["event"] for x in said] == [
        "PostgreSQL unreachable",
        "PostgreSQL still unreachable",
        "PostgreSQL back",
    ]
    assert said[1]["waiting"] == 7 and said[1]["failed_attempts"] == 50
    assert said[0]["reason"] == "[Errno 2] No such file or directory"
    assert monitor.down() == {}


def _attempt(n: int, asked: datetime) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        attempt=n,
        scheduled_time=asked,
        current_attempt_scheduled_time=asked,
        start_to_close_timeout=timedelta(seconds=45),
    )
    return env


async def test_notices_waiting_on_a_channel_that_comes_back_go_oldest_first(
    pool: asyncpg.Pool, receiver: WebhookReceiver
) -> None:
    channel = WebhookChannel(receiver.url, timeout=5)
    notify = NotifyActivities(pool, {"webhook": channel})
    now = datetime.now(UTC)
    first = make_notice(seq=1)
    receiver.fail_next = 1000  # down
    with pytest.raises(ConnectionError):
        await _attempt(1, now).run(notify.send_notices, _batch(first))

    asked = {2: 1, 3: 5, 4: 3}  # seq: asked this many minutes ago
    waiting = [
        (
            make_notice(task_id=first.task_id, seq=seq, text=f"第 {seq} 条"),
            now - timedelta(minutes=m),
        )
        for seq, m in asked.items()
    ]

    async def until_delivered(notice: Notice, asked: datetime) -> None:
        """Attempt after attempt, as Temporal retries the activity."""
        for n in range(2, 100):
            try:
                await _attempt(n, asked).run(notify.send_notices, _batch(notice))
                return
            except ConnectionError:
                await asyncio.sleep(0.05)

    sends = [asyncio.ensure_future(until_delivered(n, asked)) for n, asked in waiting]
    await asyncio.sleep(1.5)  # they wait at the gate; the oldest knocks
    knocks = 1000 - receiver.fail_next
    receiver.fail_next = 0  # back
    await asyncio.gather(*sends)

    assert knocks <= 6  # one probe at a time, not every notice every 50 ms
    got = [p["text"] for p in receiver.for_task(first.task_id)]
    oldest_first = [n.text for n, _ in sorted(waiting, key=lambda pair: pair[1])]
    assert got == oldest_first
    for notice, _ in waiting:
        assert (await outbox(pool, notice))["status"] == "delivered"
    await channel.close()


def _batch(notice: object) -> NoticeBatch:
    return NoticeBatch.model_validate(
        {"notices": [notice], "attempts": 0, "give_up_at": datetime.now(UTC) + timedelta(1)}
    )
