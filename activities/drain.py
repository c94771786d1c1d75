"""A channel's backlog drained oldest first when the channel comes back (issue 14).

While a channel is away, the notices for it wait: a few at its gate, most in Temporal's
retry backoff, each coming back at its own time, so left to themselves they would go in
no order. When the gate sees the channel answer again, the worker starts one drain for it:
under a PostgreSQL advisory lock (one worker drains a channel at a time), it reads the
channel's outbox rows still `pending` or `retrying` that were asked before it came back, in
the order asked, page by page, and sends each in turn as its activity would
(NotifyActivities.send_again). Meanwhile an activity's send of such a row sends nothing (the
drain has it; its retry finds it delivered); notices asked after the return go as usual. A
row whose task has ended is cancelled, not sent. When the channel fails again the drain
releases its row (`retrying`) and stops; the next return starts another."""

from __future__ import annotations

import asyncio
import contextvars
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from temporalio.exceptions import ApplicationError

from activities.channels.base import PermanentFailure, TemporaryFailure
from activities.notify import NotifyActivities, rejected
from activities.sql import session_lock, sql_span
from activities.wording import read as read_wording
from workflows.contracts import Notice
from workflows.names import Stage

log = structlog.get_logger(__name__)

PAGE = 100  # rows read at a time
LOCK_CLASS = 0x6472  # "dr": the first half of a channel's advisory lock key
LOCK_POLL = 1.0  # seconds between asks for the lock another worker holds
_FIRST = (datetime.min.replace(tzinfo=UTC), -(2**31), "", "", "")  # before any row

_ORDER = "coalesce(due_at, created_at), seq, task_id, role, unit"
_BACKLOG = f"""
SELECT task_id, seq, role, unit, notice, coalesce(due_at, created_at) AS asked_at
FROM notifications
WHERE channel = $1 AND status IN ('pending', 'retrying') AND notice IS NOT NULL
  AND coalesce(due_at, created_at) < $2
  AND ({_ORDER}) > ($3::timestamptz, $4::integer, $5::text, $6::text, $7::text)
ORDER BY {_ORDER}
LIMIT $8
"""
_COUNT = """
SELECT count(*) FROM notifications
WHERE channel = $1 AND status IN ('pending', 'retrying') AND coalesce(due_at, created_at) < $2
"""
# Rows of tasks that have ended, for events before the one that ended it: not sent.
_ENDED = f"""
UPDATE notifications n
SET status = 'cancelled', last_error = 'the task ended before it was sent'
FROM (SELECT task_id, min(seq) AS seq FROM task_events
      WHERE task_id = ANY($2::text[])
        AND stage IN ('{Stage.CLOSED.value}', '{Stage.WITHDRAWN.value}')
      GROUP BY task_id) ended
WHERE n.channel = $1 AND n.task_id = ended.task_id AND n.seq < ended.seq
  AND n.status IN ('pending', 'retrying')
RETURNING n.task_id, n.seq, n.role, n.unit
"""


def lock_key(channel: str) -> tuple[int, int]:
    """The channel's advisory lock: (LOCK_CLASS, a 32-bit number of its name)."""
    return LOCK_CLASS, zlib.crc32(channel.encode()) - 2**31


@dataclass
class Drain:
    channel: str
    back_at: datetime  # when the channel answered again: what was asked before is ours
    task: asyncio.Task[None] | None = None
    tally: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("sent", "cancelled", "refused", "passed"), 0)
    )


class Drains:
    """The worker's drains, one at most per channel, for the sends of one NotifyActivities
    (`serve`); the worker closes them when it stops."""

    def __init__(self, pool: asyncpg.Pool, page: int = PAGE) -> None:
        self.pool, self.page = pool, page
        self.notify = NotifyActivities(pool, {})  # until it serves the worker's
        self.running: dict[str, Drain] = {}

    def serve(self, notify: NotifyActivities) -> Drains:
        """Drain the channels of these sends: their gates start a drain, their sends of
        a notice a drain holds wait for it."""
        self.notify, notify.drains = notify, self
        return self

    def back(self, channel: str) -> None:
        """The channel's gate saw it answer again: drain it (one drain at a time; one that
        runs already takes what was asked until now as well)."""
        now = datetime.now(UTC)
        drain = self.running.get(channel)
        if drain is not None:
            drain.back_at = now
            return
        drain = self.running[channel] = Drain(channel, now)
        # Its own context: not the log fields of the activity whose probe found it back.
        drain.task = asyncio.create_task(
            self._run(drain), name=f"drain {channel}", context=contextvars.Context()
        )

    def holds(self, channel: str, asked_at: datetime) -> bool:
        drain = self.running.get(channel)
        return drain is not None and asked_at < drain.back_at

    async def wait(self) -> None:
        """Until every drain running now has ended (tests, and the worker's stop)."""
        tasks = [d.task for d in self.running.values() if d.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop the drains (the worker stops): a row being sent stays `sending`, and is
        taken over once stale by the activity's retry."""
        for drain in self.running.values():
            if drain.task is not None:
                drain.task.cancel()
        await self.wait()

    def _down(self, channel: str) -> bool:
        gate = self.notify.gates.get(channel)
        return gate is not None and gate.down_since is not None

    async def _run(self, drain: Drain) -> None:
        try:
            while not self._down(drain.channel):
                async with (
                    self.pool.acquire() as conn,
                    session_lock(conn, *lock_key(drain.channel), wait=False) as ours,
                ):
                    if ours:
                        await self._drain(drain)
                        return
                await asyncio.sleep(LOCK_POLL)  # another worker drains it: ours wait
        except Exception as err:  # PostgreSQL away: the activities' retries send the rest
            log.warning("drain stopped", channel=drain.channel, why=f"{type(err).__name__}: {err}")
        finally:
            self.running.pop(drain.channel, None)

    async def _drain(self, drain: Drain) -> None:
        began = time.monotonic()
        with sql_span(_COUNT):
            waiting = await self.pool.fetchval(_COUNT, drain.channel, drain.back_at)
        log.info(
            "drain started",
            channel=drain.channel,
            waiting=waiting,
            back_at=drain.back_at.isoformat(timespec="seconds"),
        )
        stopped = ""
        try:
            stopped = await self._pages(drain)
        except asyncio.CancelledError:
            stopped = "the worker is stopping"
            raise
        except Exception as err:
            stopped = f"{type(err).__name__}: {err}"
            raise
        finally:
            log.info(
                "drain ended",
                channel=drain.channel,
                **drain.tally,
                took_s=round(time.monotonic() - began, 1),
                stopped=stopped or None,
            )

    async def _pages(self, drain: Drain) -> str:
        """Page after page in the order asked; once more from the start for rows written
        behind the last page meanwhile. Why it stopped early, or ""."""
        directory = await self.notify.directory.now(self.pool)
        tried: set[tuple[Any, ...]] = set()
        cursor, fresh = _FIRST, False  # fresh: this pass has found a row to send
        while True:
            with sql_span(_BACKLOG):
                rows = await self.pool.fetch(
                    _BACKLOG, drain.channel, drain.back_at, *cursor, self.page
                )
            if not rows:
                if cursor == _FIRST or not fresh:
                    return ""
                cursor, fresh = _FIRST, False  # what came in behind the pages
                continue
            cursor = tuple(rows[-1][k] for k in ("asked_at", "seq", "task_id", "role", "unit"))
            todo = [r for r in rows if _key(r) not in tried]
            tried.update(_key(r) for r in todo)
            fresh = fresh or bool(todo)
            todo = await self._not_ended(drain, todo)
            notices = [_notice(r, drain.channel) for r in todo]
            wording = await read_wording(
                self.pool, notices, self.notify.calendar, self.notify.public_url
            )
            for notice in notices:
                if self._down(drain.channel):
                    return "the channel is away again"
                try:
                    sent = await self.notify.send_again(notice, directory, wording)
                except TemporaryFailure as err:
                    return str(err)  # the row is `retrying`; the gate is down
                except (PermanentFailure, ApplicationError) as err:
                    if isinstance(err, ApplicationError) and not rejected(err):
                        raise
                    drain.tally["refused"] += 1  # the row says `failed`
                    continue
                drain.tally["sent" if sent else "passed"] += 1

    async def _not_ended(self, drain: Drain, rows: list[asyncpg.Record]) -> list[Any]:
        """The rows whose task goes on; those of ended tasks marked cancelled."""
        if not rows:
            return rows
        tasks = sorted({r["task_id"] for r in rows})
        with sql_span(_ENDED):
            ended = {_key(r) for r in await self.pool.fetch(_ENDED, drain.channel, tasks)}
        drain.tally["cancelled"] += len(ended)
        return [r for r in rows if _key(r) not in ended]


def _key(row: asyncpg.Record) -> tuple[Any, ...]:
    return (row["task_id"], row["seq"], row["role"], row["unit"])


def _notice(row: asyncpg.Record, channel: str) -> Notice:
    """The notice as its activity got it, for the row's channel."""
    notice = Notice.model_validate_json(row["notice"])
    return notice.model_copy(update={"channel": channel})
