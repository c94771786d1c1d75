"""One gate per channel in the worker process. After a send fails for the moment (the peer
is down, busy or unreachable), later sends on that channel wait, each for a bounded time,
for the channel to answer again: the oldest waiting notice probes it, one probe at a time,
the first at once, then further apart while it stays away (one second, doubling, at most
ten). When a probe is answered the waiting notices go, oldest first, one after another
until none waits. A dead channel so gets one request every few seconds instead of one per
notice, and what waited at the gate goes out in the order it was asked for. Most of what
waits on a channel that is away waits in Temporal's retry backoff instead: the gate tells
`on_back` when the channel is back, and the worker's drain (activities.drain) sends the
channel's outbox oldest first. The gate tells a `Watch` (worker.faults) when the channel
went away, who waits on it, and when it answered again."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from activities.channels.base import TemporaryFailure

FIRST_PROBE = 1.0  # seconds after a failure before the oldest waiting notice tries again
# At most this many notices wait at a gate, the oldest: each holds one of the worker's
# activity slots while it waits, and the ledger's writes need them. A younger one is sent
# back at once to wait in Temporal's retry backoff, which costs nothing.
MAX_WAITING = 16
PROBE_CAP = 10.0  # at most this between probes while the channel stays away


class Watch(Protocol):
    """Who hears of a dependency that went away and came back (worker.faults.Monitor)."""

    def failed(self, dependency: str, why: str, waiter: str | None = None) -> None: ...

    def answered(self, dependency: str, waiter: str | None = None) -> None: ...


def dependency(channel: str) -> str:
    """How a channel is named among the worker's dependencies."""
    return f"channel {channel}"


class ChannelDown(TemporaryFailure):
    """The channel did not answer again within this notice's wait; nothing was sent."""


@dataclass
class Turn:
    """One send's passage through the gate: it says how the peer answered."""

    gate: Gate
    probe: bool
    who: str
    ticket: int | None  # it waited; when it was let through in line, the next goes after it
    told: bool = False

    def answered(self) -> None:
        """The peer answered (a delivery, or a refusal: either way it is there)."""
        self.told = True
        self.gate._answered(self.who)

    def failed(self, why: str) -> None:
        self.told = True
        self.gate._failed(why, self.who, self.probe)


class Gate:
    def __init__(
        self,
        channel: str,
        watch: Watch | None = None,
        first_probe: float = FIRST_PROBE,
        probe_cap: float = PROBE_CAP,
        max_waiting: int = MAX_WAITING,
        on_back: Callable[[str], None] | None = None,  # told the channel's name when back
    ) -> None:
        self.channel = channel
        self.watch, self.on_back = watch, on_back
        self.first_probe, self.probe_cap, self.max_waiting = first_probe, probe_cap, max_waiting
        self._evicted: set[int] = set()  # tickets sent back to make room for an older one
        self.down_since: datetime | None = None
        self.why = ""
        self._queue: list[tuple[datetime, int]] = []  # (asked at, ticket): a heap, oldest first
        self._not_before: dict[int, float] = {}  # by ticket: not to probe before this
        self._tickets = itertools.count()
        self._changed = asyncio.Event()
        self._probing = False
        self._passing = False  # one of those that waited is being sent: the rest wait
        # Those waiting when the channel answered again: they go first, oldest first, one
        # after another; whoever comes meanwhile waits for them, then goes as usual.
        self._draining: set[int] = set()
        self._interval = first_probe
        self._next_probe = 0.0

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextlib.asynccontextmanager
    async def turn(
        self, asked_at: datetime, until: float, who: str, again: bool = False
    ) -> AsyncIterator[Turn]:
        """Wait for this notice's turn: at once while the channel answers and nothing older
        waits; else until the channel answers again or this notice is the probe. Raises
        ChannelDown, having sent nothing, when `until` (the event loop's clock) comes
        first. `again`: this notice's own send just failed; it keeps its place, but
        another probes before it tries again."""
        probe, ticket = False, None
        if self.down_since is not None or self._draining:
            not_before = asyncio.get_running_loop().time() + self.first_probe if again else 0.0
            probe, ticket = await self._wait(asked_at, until, who, not_before)
        turn = Turn(self, probe, who, ticket)
        try:
            yield turn
        finally:
            if probe and not turn.told:  # cancelled mid-send: let the next one probe
                self._probing = False
            if ticket is not None and ticket in self._draining:
                self._draining.discard(ticket)  # the next in line
                self._passing = False
            if ticket is not None:
                self._wake()

    def passing(self, who: str) -> Turn:
        """A turn for a send that does not wait (the drain, which sends only while the
        channel answers): it tells the gate how the peer answered, as any other."""
        return Turn(self, False, who, None)

    async def _wait(
        self, asked_at: datetime, until: float, who: str, not_before: float
    ) -> tuple[bool, int]:
        """(whether it is the probe, its ticket)."""
        loop = asyncio.get_running_loop()
        entry = (asked_at, next(self._tickets))
        heapq.heappush(self._queue, entry)
        self._not_before[entry[1]] = not_before
        waits = until > loop.time()  # (one that only looks makes no room for itself)
        if waits and len(self._queue) > self.max_waiting:  # the youngest goes back
            self._evicted.add(max(self._queue)[1])
            self._wake()
        try:
            while True:
                now = loop.time()
                if entry[1] in self._evicted:
                    self._evicted.discard(entry[1])
                    until = now  # sent back: an older notice needs the place
                down = self.down_since is not None
                if not down and entry[1] in self._draining:  # back: those that waited, in turn
                    oldest = min(e for e in self._queue if e[1] in self._draining)
                    if oldest == entry and not self._passing:
                        self._passing = True
                        return False, entry[1]
                elif not down and not self._draining:  # they have gone: as usual
                    return False, entry[1]
                ready = down and not self._probing and now >= self._next_probe
                if ready and self._prober(now) == entry:  # the oldest that may probe
                    self._probing = True
                    return True, entry[1]
                if now >= until:
                    if not down:  # it answers: older notices were let through first
                        raise ChannelDown(f"{self.channel} busy with older notices", self.channel)
                    if self.watch is not None:
                        self.watch.failed(dependency(self.channel), self.why, who)
                    since = self.down_since.isoformat(timespec="seconds") if self.down_since else ""
                    raise ChannelDown(
                        f"{self.channel} not answering since {since}: {self.why}", self.channel
                    )
                wake_at = until  # else a change wakes it: a probe's answer, one gone by
                if down and not self._probing:  # when it might be the one to probe
                    wake_at = min(until, max(self._next_probe, not_before, now + 0.05))
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=max(wake_at - now, 0.01))
        except BaseException:
            self._draining.discard(entry[1])  # gone without its turn: not waited for
            raise
        finally:
            self._queue.remove(entry)
            heapq.heapify(self._queue)
            del self._not_before[entry[1]]
            self._evicted.discard(entry[1])
            self._wake()

    def _prober(self, now: float) -> tuple[datetime, int] | None:
        """The oldest waiting notice that may probe now."""
        ready = (e for e in sorted(self._queue) if self._not_before[e[1]] <= now)
        return next(ready, None)

    def _wake(self) -> None:
        """Every waiter looks again (a new event for the next change)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _answered(self, who: str) -> None:
        back = self.down_since is not None
        self.down_since, self.why = None, ""
        self._probing, self._interval, self._next_probe = False, self.first_probe, 0.0
        if not back:
            return
        self._draining = {ticket for _, ticket in self._queue}
        if self.watch is not None:
            self.watch.answered(dependency(self.channel), who)
        if self.on_back is not None:  # before those waiting go: the drain holds the older
            self.on_back(self.channel)
        self._wake()

    def _failed(self, why: str, who: str, probe: bool) -> None:
        now = asyncio.get_running_loop().time()
        if self.down_since is None:  # the next send may probe at once: a blip is a blip
            self.down_since = datetime.now(UTC)
            self._draining.clear()  # away again: those in line wait for a probe
            self._passing = False
            self._interval, self._next_probe = self.first_probe, now
        elif probe:  # still away: the next probe later, each wait twice the last
            self._next_probe = now + self._interval
            self._interval = min(self._interval * 2, self.probe_cap)
        self.why = why
        if probe:
            self._probing = False
        if self.watch is not None:
            self.watch.failed(dependency(self.channel), why, who)
        self._wake()
