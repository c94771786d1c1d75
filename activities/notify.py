"""Sending notifications through an outbox row, so a retry never sends twice what arrived.

A row is marked `sending` before its peer is called. A retry that finds it `sending` cannot
know whether the peer got it (the worker or PostgreSQL died between the peer's answer and
`delivered`): a peer that deduplicates on the idempotency key gets the same key again and
drops the copy; a robot that cannot is sent it again and the row says `possible_duplicate`.
The attempt that gives up marks what is still undelivered `failed`, in one log line each; a
batch cancelled because its task ended marks what it had not sent `cancelled`.

One sender holds a row `sending` at a time: the activity, or the channel's drain
(activities.drain), which sends a channel's backlog oldest first when it comes back. A row
is taken only from `pending` or `retrying`, or from `sending` by the same sender (an
earlier attempt that died) or by one that has held it too long (a sender that died). An
activity that finds its row delivered by the drain returns it delivered; one that finds the
drain sending it, or whose row is older than the channel's return while the drain runs,
sends nothing and is tried again (its retry finds the row delivered)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import links
from activities.calendar import WorkingCalendar
from activities.channels import Channel, PermanentFailure, specs
from activities.channels._gate import Gate, Turn, Watch
from activities.channels.base import TemporaryFailure, error_text, without_secrets
from activities.directory import Directory, DirectoryError, Held, Reached
from activities.routing import route
from activities.sql import sql_span
from activities.wording import Wording
from activities.wording import read as read_wording
from workflows import activity_names
from workflows.contracts import Notice, NoticeBatch, NoticeOutcome
from workflows.names import NoticeKind, Stage
from workflows.windows import OFFICE_TZ

log = structlog.get_logger(__name__)

# The row, with the notice as the activity got it (what the drain sends it again from).
_CLAIM = """
INSERT INTO notifications (task_id, seq, role, unit, channel, kind, level, body, due_at, notice)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
ON CONFLICT (task_id, seq, role, unit, channel)
DO UPDATE SET notice = coalesce(notifications.notice, excluded.notice)
RETURNING status, attempts, last_error, coalesce(due_at, created_at) AS asked_at
"""
_MARK = """
UPDATE notifications
SET status = $6, attempts = attempts + $7, last_error = $8,
    person_id = coalesce($9, person_id), reached_via = coalesce($10, reached_via),
    delivered_at = CASE WHEN $6 = 'delivered' THEN coalesce(delivered_at, now())
                        ELSE delivered_at END
WHERE task_id = $1 AND seq = $2 AND role = $3 AND unit = $4 AND channel = $5
  AND (status <> 'delivered' OR $6 = 'delivered')  -- what arrived stays so
"""
# Before the peer is called, by one sender ($6) at a time: taken from `pending` or
# `retrying`, or from `sending` by the same sender (its earlier attempt died) or by one that
# has held it longer than $8 seconds (that sender died). Taken from `sending`, the peer may
# have it: one that cannot deduplicate ($7 false) may show it twice, and the row says so.
# No row: another sender has it, or it is no longer to be sent.
_SENDING = """
UPDATE notifications
SET status = 'sending', attempts = attempts + 1, sending_by = $6, sending_since = now(),
    possible_duplicate = possible_duplicate OR (status = 'sending' AND NOT $7)
WHERE task_id = $1 AND seq = $2 AND role = $3 AND unit = $4 AND channel = $5
  AND (status IN ('pending', 'retrying')
       OR (status = 'sending'
           AND (sending_by = $6
                OR coalesce(sending_since, '-infinity') < now() - make_interval(secs => $8))))
RETURNING attempts
"""
_FOUND = """
SELECT status, attempts, last_error, sending_by FROM notifications
WHERE task_id = $1 AND seq = $2 AND role = $3 AND unit = $4 AND channel = $5
"""
# The channels that failed for the recipient of the latest failed notice of a task before
# `seq`: an `undelivered` notice about it goes another way.
_FAILED_CHANNELS = """
SELECT channel FROM notifications
WHERE task_id = $1 AND role = $2 AND unit = $3 AND status = 'failed'
  AND seq = (SELECT max(seq) FROM notifications
             WHERE task_id = $1 AND role = $2 AND unit = $3 AND status = 'failed' AND seq < $4)
"""
# A batch cancelled because its task ended: what it had not sent will not go.
_CANCEL = """
UPDATE notifications
SET status = 'cancelled',
    last_error = CASE WHEN status = 'sending'
                      THEN 'the task ended while it was being sent: it may have arrived'
                      ELSE 'the task ended before it was sent' END
WHERE task_id = $1 AND seq = ANY($2::integer[])
  AND status IN ('pending', 'sending', 'retrying')
"""
# A batch the workflow cancelled between two attempts never runs again to say so: rows of a
# task that has ended, for events before the one that ended it, are cancelled here.
_CANCEL_ENDED = f"""
UPDATE notifications n
SET status = 'cancelled', last_error = 'the task ended before it was sent'
FROM (SELECT task_id, min(seq) AS seq FROM task_events
      WHERE stage IN ('{Stage.CLOSED.value}', '{Stage.WITHDRAWN.value}') GROUP BY task_id) ended
WHERE n.task_id = ended.task_id AND n.seq < ended.seq
  AND n.status IN ('pending', 'retrying')
"""


def idempotency_key(n: Notice) -> str:
    """Stable for one (task, event, recipient, channel); ASCII so it fits an HTTP header."""
    natural = f"{n.task_id}\x1f{n.seq}\x1f{n.role}\x1f{n.unit}\x1f{n.channel}"
    return hashlib.sha256(natural.encode()).hexdigest()[:32]


# From release 3 a batch is retried with at most this between attempts (workflows.effects
# PATIENT_RETRY): the attempt that cannot expect another before give_up_at is the last.
BACKOFF_CAP = timedelta(minutes=3)


# How long a send waits at a channel's gate for the channel to answer again, at most, and
# at most this share of its attempt's start-to-close timeout (activities.channels._gate).
GATE_WAIT = 20.0
GATE_SHARE = 0.5


def _gate_until() -> float:
    """Until when (the event loop's clock) this attempt's sends may wait at a gate: none
    outside an activity (a tool calling directly hears at once)."""
    wait = 0.0
    if activity.in_activity():
        wait = GATE_WAIT
        timeout = activity.info().start_to_close_timeout
        if timeout:
            wait = min(wait, timeout.total_seconds() * GATE_SHARE)
    return asyncio.get_running_loop().time() + wait


def _asked_at() -> datetime | None:
    """When the task asked for the notice: its activity's first scheduling."""
    return activity.info().scheduled_time if activity.in_activity() else None


# A row another sender has held `sending` this long is taken over: that sender died between
# its claim and its mark (a send is bounded by its channel's timeout, well under this).
STALE = timedelta(seconds=60)
DRAIN = "drain"  # the drain's name in `sending_by`


def _sender() -> str:
    """Who sends, as `sending_by` says: this activity, the same on each of its attempts."""
    if not activity.in_activity():
        return "direct"  # a tool or a test calling the activity's method itself
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"


def _final_attempt() -> bool:
    """This attempt is the retry policy's last (a policy with a maximum of attempts)."""
    if not activity.in_activity():
        return False
    info = activity.info()
    most = info.retry_policy.maximum_attempts if info.retry_policy else 0
    return bool(most) and info.attempt >= most


class Drainer(Protocol):
    """The worker's drains (activities.drain.Drains), as the sends and the gates see them."""

    def back(self, channel: str) -> None:
        """The channel answers again after being away: drain what waits on it."""

    def holds(self, channel: str, asked_at: datetime) -> bool:
        """A drain of the channel runs here and a notice asked then is its to send."""
        ...


@dataclass(frozen=True)
class _Sent:
    said: str  # what the peer said, or the outbox's last word where another sender sent it
    attempts: int
    here: bool  # sent by this call (False: found delivered)


# The outbox keys whose send failed in this attempt: tried again within it, each lets
# another notice probe its channel first.
_failed_here: contextvars.ContextVar[set[tuple[Any, ...]]] = contextvars.ContextVar("failed_here")


def rejected(err: Exception) -> bool:
    """Refused for good: reported failed, not tried again."""
    return isinstance(err, ApplicationError) and err.type == "NotificationRejected"


def _last_attempt(batch: NoticeBatch, attempt: int, now: datetime) -> bool:
    """Whether what still fails on this attempt is reported failed rather than retried."""
    if batch.give_up_at is not None:
        return now + BACKOFF_CAP >= batch.give_up_at
    return attempt >= batch.attempts


@contextlib.asynccontextmanager
async def heartbeating(every: float = 5.0) -> AsyncIterator[None]:
    """Heartbeat while a batch is sent: a worker that dies mid-batch is noticed within
    the heartbeat timeout (seconds), not at the start-to-close timeout, and the retry skips
    what the outbox says went. A send that hangs is bounded by the channel's own timeout."""

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    ticker = asyncio.create_task(beat()) if activity.in_activity() else None
    try:
        yield
    finally:
        if ticker is not None:
            ticker.cancel()


class NotifyActivities:
    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: dict[str, Channel],
        public_url: str | None = None,  # where a notice's link points (worker.settings)
        calendar: WorkingCalendar | None = None,  # the office's, to say how late
        action_base: str | None = None,  # where action links point: the HTTP service
        watch: Watch | None = None,  # who hears of a channel gone and back (worker.faults)
    ) -> None:
        self.pool = pool
        self.channels = channels
        self.public_url = public_url
        self.calendar = calendar or WorkingCalendar()
        self.action_base = action_base
        self.gates = {name: Gate(name, watch, on_back=self._back) for name in channels}
        # The worker's drains, which send a channel's backlog oldest first when it is back
        # (activities.drain); None: every send goes itself, oldest first only at the gate.
        self.drains: Drainer | None = None
        # The directory kept between notices, read again only when its version moved.
        self.directory = Held()

    def _back(self, channel: str) -> None:
        if self.drains is not None:
            self.drains.back(channel)

    @activity.defn(name=activity_names.SEND_NOTICE)
    async def send_notice(self, notice: Notice) -> NoticeOutcome:
        """Send over every channel the rules pick for the person reached, each once: a
        channel already delivered is skipped on a retry, a refused one is not tried again."""
        directory, wording = await self.directory.now(self.pool), await self._wording([notice])
        _failed_here.set(set())
        return await self._send(notice, directory, wording, last=False, until=_gate_until())

    async def _send(
        self, notice: Notice, directory: Directory, wording: Wording, last: bool, until: float
    ) -> NoticeOutcome:
        reached = await self._reach(notice, directory)
        names = route(notice, reached, self.channels, await self._avoid(notice))
        if names and reached is not None:  # where the notice asks something of them
            reached = await self._linked(notice, reached, directory)
        raw, notice = notice, self._in_words(notice, wording, reached)
        if not names:
            return await self._no_channel(notice)
        sent: list[NoticeOutcome] = []
        refused: list[str] = []
        temporary: Exception | None = None
        for name in names:
            try:
                one, kept = (n.model_copy(update={"channel": name}) for n in (notice, raw))
                sent.append(await self._over(one, kept, reached, last, until))
            except PermanentFailure as err:
                refused.append(f"{name}: {err}")
            except Exception as err:  # retried by Temporal; what was delivered stays so
                temporary = err
        if temporary is not None:
            raise temporary
        if not sent:  # the channels that failed ride along: the failed outcome names them
            raise ApplicationError(
                "; ".join(refused), names, type="NotificationRejected", non_retryable=True
            )
        outcome = sent[0].model_copy(
            update={
                "channel": "+".join(o.channel for o in sent),
                "attempts": max(o.attempts for o in sent),
                "detail": "; ".join([*(o.detail for o in sent), *refused]),
            }
        )
        if reached is not None:
            outcome = outcome.model_copy(update={"person": reached.person.id, "via": reached.via})
        return outcome

    @activity.defn(name=activity_names.SEND_NOTICES)
    async def send_notices(self, batch: NoticeBatch) -> list[NoticeOutcome]:
        """Every notice of one event, in order (the one who must act first, first). A
        notice refused for good is reported failed and the others still go; a temporary
        failure retries the batch, and the outbox skips what already went. On the last
        attempt a notice still failing is reported failed rather than failing them all."""
        last = _last_attempt(batch, activity.info().attempt, datetime.now(UTC))
        until = _gate_until()
        _failed_here.set(set())
        try:
            # The directory, the templates and the calendar as they are now, read once.
            directory = await self.directory.now(self.pool)
            wording = await self._wording(batch.notices)
            async with heartbeating():
                return await self._send_batch(batch, last, until, directory, wording)
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            if details is not None and details.cancel_requested:  # the task ended
                await asyncio.shield(self._cancel_unsent(batch))
            raise

    async def _cancel_unsent(self, batch: NoticeBatch) -> None:
        task_id = batch.notices[0].task_id if batch.notices else ""
        seqs = sorted({n.seq for n in batch.notices})
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError), sql_span(_CANCEL):
            await asyncio.wait_for(self.pool.execute(_CANCEL, task_id, seqs), timeout=5)

    async def _send_batch(
        self,
        batch: NoticeBatch,
        last: bool,
        until: float,
        directory: Directory,
        wording: Wording,
    ) -> list[NoticeOutcome]:
        """Twice over: first every notice over the channels that answer, waiting at no gate
        (a channel that is away holds up no other); then those still to go, waiting at
        their channels' gates as long as the attempt allows."""
        outcomes: dict[int, NoticeOutcome] = {}
        at_once = asyncio.get_running_loop().time()
        later = []
        for i, notice in enumerate(batch.notices):
            try:
                outcomes[i] = await self._send(notice, directory, wording, False, at_once)
            except Exception as err:
                if rejected(err):
                    outcomes[i] = self._failed(notice, str(err), err)
                else:
                    later.append(i)
        temporary: Exception | None = None
        for i in later:
            notice = batch.notices[i]
            try:
                outcomes[i] = await self._send(notice, directory, wording, last, until)
            except Exception as err:
                if rejected(err):
                    outcomes[i] = self._failed(notice, str(err), err)
                elif last:
                    outcomes[i] = self._failed(notice, error_text(err))
                else:
                    temporary = err  # the others still go now; this one on the retry
        if temporary is not None:
            raise temporary
        return [outcomes[i] for i in range(len(batch.notices))]

    @staticmethod
    def _failed(notice: Notice, why: str, err: Exception | None = None) -> NoticeOutcome:
        """A notice that did not get through; its outcome's channel names the channels that
        failed for it ("sms+webhook"), where the refusal says them, so the office can be
        told another way (Notice.avoid)."""
        outcome = NotifyActivities._outcome(notice, "failed", activity.info().attempt, why)
        details = err.details if isinstance(err, ApplicationError) else ()
        if details and isinstance(details[0], list) and details[0]:
            outcome = outcome.model_copy(update={"channel": "+".join(map(str, details[0]))})
        return outcome

    async def _over(
        self, notice: Notice, raw: Notice, reached: Reached | None, last: bool, until: float
    ) -> NoticeOutcome:
        """One channel: claim its outbox row, send unless already done, record the result.
        On the last attempt a send that fails for the moment is given up: `failed`. `raw`:
        the notice as the activity got it, kept on the row for the drain."""
        key = (notice.task_id, notice.seq, notice.role, notice.unit, notice.channel)
        row = await self._claim(key, self._kept(notice, reached), raw)
        if row["status"] == "delivered":
            return self._outcome(notice, "delivered", row["attempts"], row["last_error"] or "")
        if row["status"] == "failed":
            raise PermanentFailure(without_secrets(row["last_error"] or "refused before"))
        try:
            sent = await self._call(notice, reached, key, row, last, until)
        except TemporaryFailure as err:
            if not last:
                raise
            await self._mark(key, "failed", 0, str(err), reached)
            log.error(
                "notice given up: the outbox says failed",
                task=notice.task_id,
                seq=notice.seq,
                channel=notice.channel,
                role=notice.role,
                unit=notice.unit,
                why=str(err),
            )
            raise PermanentFailure(f"gave up: {err}") from None
        if isinstance(sent, NoticeOutcome):  # no longer to be sent (its task ended)
            return sent
        if sent.here:
            await self._mark(key, "delivered", 0, None, reached)
        return self._outcome(notice, "delivered", sent.attempts, sent.said)

    async def _call(
        self,
        notice: Notice,
        reached: Reached | None,
        key: tuple[Any, ...],
        row: asyncpg.Record,
        last: bool,
        until: float,
    ) -> _Sent | NoticeOutcome:
        """The peer called through its channel's gate, the row `sending` by this activity
        meanwhile; called again, at the gate's pace, while it fails for the moment and this
        attempt has time (`until`), so the oldest notice keeps its place at a channel that
        is away. While the channel's drain runs, a notice asked before the channel came
        back is the drain's to send, in its place: this attempt sends nothing (unless it is
        the last). What was sent, or found delivered; or the outcome of a row no longer to
        be sent."""
        spec = specs().get(notice.channel)
        dedup = spec is not None and spec.dedup
        gate = self.gates.get(notice.channel) or Gate(notice.channel)
        loop = asyncio.get_running_loop()
        failed = _failed_here.get(set())
        while True:
            async with gate.turn(row["asked_at"], until, notice.task_id, key in failed) as turn:
                held = self.drains is not None and self.drains.holds(
                    notice.channel, row["asked_at"]
                )
                if held and not last and not _final_attempt():
                    raise TemporaryFailure(
                        f"{notice.channel} is back: the drain sends what was asked before, "
                        "oldest first",
                        notice.channel,
                    )
                attempts = await self._take(key, _sender(), dedup)
                if attempts is not None:
                    try:
                        said = await self._peer(notice, reached, key, turn)
                    except TemporaryFailure:
                        failed.add(key)
                        if loop.time() >= until:
                            raise
                        continue  # back to the gate, in this notice's place
                    return _Sent(said, attempts, here=True)
                found = await self._taken(notice, key, last)
                if found is not None:
                    return found
            await asyncio.sleep(0.5)  # the last attempt waits for the other sender to finish

    async def _take(self, key: tuple[Any, ...], sender: str, dedup: bool) -> int | None:
        """Mark the row `sending` by `sender`, if it is to be sent and no one else sends it;
        its attempts so far, or None."""
        with sql_span(_SENDING):
            attempts = await self.pool.fetchval(
                _SENDING, *key, sender, dedup, STALE.total_seconds()
            )
        return None if attempts is None else int(attempts)

    async def _taken(
        self, notice: Notice, key: tuple[Any, ...], last: bool
    ) -> _Sent | NoticeOutcome | None:
        """The row was not to be taken: delivered (by the drain) is delivered; refused is
        refused; another sender at it now: the retry will find it delivered (None on the
        last attempt, which waits for it)."""
        with sql_span(_FOUND):
            row = await self.pool.fetchrow(_FOUND, *key)
        assert row is not None
        status = row["status"]
        if status == "delivered":
            return _Sent(row["last_error"] or "", row["attempts"], here=False)
        if status == "failed":
            raise PermanentFailure(without_secrets(row["last_error"] or "refused before"))
        if status in ("pending", "retrying"):  # released meanwhile: take it again
            return None
        if status == "sending":
            if last:
                return None
            raise TemporaryFailure(
                f"{notice.channel}: being sent by {row['sending_by']}", notice.channel
            )
        return self._outcome(notice, status, row["attempts"], row["last_error"] or "")

    async def _peer(
        self, notice: Notice, reached: Reached | None, key: tuple[Any, ...], turn: Turn
    ) -> str:
        """The peer called for a row this sender holds `sending`; the row and the gate told
        how it answered. What is recorded and raised (to the outbox, the outcome, Temporal's
        history and the log) is the error's text without its URL's credentials or query;
        the original is dropped (`from None`), or its words would travel on as the
        failure's cause."""
        try:
            said = await self.channels[notice.channel].send(
                notice, idempotency_key(notice), reached
            )
        except PermanentFailure as err:
            turn.answered()  # it is there: it refused this one
            why = error_text(err)
            await self._mark(key, "failed", 0, why, reached)
            raise PermanentFailure(why) from None
        except Exception as err:
            why = error_text(err)
            turn.failed(why)
            await self._mark(key, "retrying", 0, why, reached)
            raise TemporaryFailure(why, notice.channel) from None
        turn.answered()
        return said

    # ---- for the drain (activities.drain) ----------------------------------------------

    async def send_again(self, raw: Notice, directory: Directory, wording: Wording) -> bool:
        """One outbox row sent again by the drain, as its activity would send it: the person
        reached through the directory, the action link made again, the words rendered, the
        row taken `sending` by the drain, the peer called with the same idempotency key, the
        row marked. False when the row was not the drain's to send (another sender has it,
        or it went meanwhile). Raises TemporaryFailure when the channel fails (the row
        released `retrying`, the gate told), PermanentFailure or NotificationRejected when
        the notice is refused (the row `failed`)."""
        reached = await self._reach(raw, directory)
        if reached is not None:
            reached = await self._linked(raw, reached, directory)
        notice = self._in_words(raw, wording, reached)
        key = (notice.task_id, notice.seq, notice.role, notice.unit, notice.channel)
        spec = specs().get(notice.channel)
        if await self._take(key, DRAIN, spec is not None and spec.dedup) is None:
            return False
        gate = self.gates.get(notice.channel) or Gate(notice.channel)
        await self._peer(notice, reached, key, gate.passing(DRAIN))
        await self._mark(key, "delivered", 0, None, reached)
        return True

    async def _linked(self, notice: Notice, reached: Reached, directory: Directory) -> Reached:
        """The person reached, with the action link made for them where the notice asks
        something of them (made again for a notice sent again: the same link)."""
        url = await links.make(
            self.pool, notice, reached, directory, self.action_base, datetime.now(UTC)
        )
        return replace(reached, action_url=url)

    # ---- for a step's write and its notices in one activity (activities.telling) -------

    async def send_one(
        self, notice: Notice, directory: Directory, wording: Wording, until: float
    ) -> NoticeOutcome:
        """One notice over every channel the rules pick, trying each once (`until`: how
        long it may wait at a gate); raises as send_notice's attempt would."""
        _failed_here.set(set())
        return await self._send(notice, directory, wording, False, until)

    async def wording(self, notices: list[Notice]) -> Wording:
        return await self._wording(notices)

    @staticmethod
    def failed(notice: Notice, why: str, err: Exception | None = None) -> NoticeOutcome:
        return NotifyActivities._failed(notice, why, err)

    @staticmethod
    def outcome(notice: Notice, status: str, attempts: int, detail: str) -> NoticeOutcome:
        return NotifyActivities._outcome(notice, status, attempts, detail)

    async def _wording(self, notices: list[Notice]) -> Wording:
        return await read_wording(self.pool, notices, self.calendar, self.public_url)

    @staticmethod
    def _in_words(notice: Notice, wording: Wording, reached: Reached | None) -> Notice:
        """The notice's text, from its facts in the office's words (activities.wording),
        with the action link made for the person reached."""
        action_url = reached.action_url if reached else ""
        return wording.render(notice, datetime.now(OFFICE_TZ), action_url)

    @staticmethod
    def _kept(notice: Notice, reached: Reached | None) -> Notice:
        """The notice as the outbox keeps it: its action link's token hidden, as it is
        nowhere kept in clear."""
        if reached is None or not reached.action_url:
            return notice
        return notice.model_copy(update={"text": links.masked(notice.text, reached.action_url)})

    async def _claim(
        self, key: tuple[Any, ...], notice: Notice, raw: Notice | None = None
    ) -> asyncpg.Record:
        kept = raw.model_dump_json() if raw is not None else None
        with sql_span(_CLAIM):
            row = await self.pool.fetchrow(
                _CLAIM, *key, notice.kind, notice.level, notice.text, _asked_at(), kept
            )
        assert row is not None
        return row

    async def _avoid(self, notice: Notice) -> set[str]:
        """Channels this notice should not take: those it names, and for an `undelivered`
        notice those that failed for the notice it is about, so the office hears of it
        another way."""
        avoid = set(notice.avoid)
        about = notice.about
        if notice.kind == NoticeKind.UNDELIVERED and about and about.failed_role:
            unit = about.failed_unit or about.subject_unit
            with sql_span(_FAILED_CHANNELS):
                rows = await self.pool.fetch(
                    _FAILED_CHANNELS, notice.task_id, about.failed_role, unit, notice.seq
                )
            avoid |= {r["channel"] for r in rows}
        return avoid

    async def _no_channel(self, notice: Notice) -> NoticeOutcome:
        key = (notice.task_id, notice.seq, notice.role, notice.unit, notice.channel)
        row = await self._claim(key, notice)
        detail = "no channel configured that reaches the recipient (see DUBAN_* channel settings)"
        log.warning("notification not sent", reason=detail, role=notice.role, unit=notice.unit)
        if row["status"] != "no_channel":
            await self._mark(key, "no_channel", 0, detail)
        return self._outcome(notice, "no_channel", row["attempts"], detail)

    async def _reach(self, notice: Notice, directory: Directory) -> Reached | None:
        """Whom the notice reaches today: the role's holder, or their stand-in. None where
        no directory has been imported yet (the notice still goes to the role's channel)."""
        if not directory.holders:
            return None
        try:
            return directory.resolve(notice.role, notice.unit, datetime.now(OFFICE_TZ).date())
        except DirectoryError as err:
            key = (notice.task_id, notice.seq, notice.role, notice.unit, notice.channel)
            await self._claim(key, notice, notice)
            await self._mark(key, "failed", 1, str(err))
            raise ApplicationError(
                str(err), type="NotificationRejected", non_retryable=True
            ) from err

    async def _mark(
        self,
        key: tuple[Any, ...],
        status: str,
        tried: int,
        error: str | None,
        reached: Reached | None = None,
    ) -> None:
        person = reached.person.id if reached else None
        via = reached.via if reached else None
        with sql_span(_MARK):
            await self.pool.execute(_MARK, *key, status, tried, error, person, via)
        if activity.in_activity():  # also called directly, by tools and tests
            activity.metric_meter().create_counter(
                "duban_notifications", "notifications by channel and outcome"
            ).add(1, {"channel": str(key[-1]), "outcome": status})

    @staticmethod
    def _outcome(notice: Notice, status: str, attempts: int, detail: str) -> NoticeOutcome:
        return NoticeOutcome(
            seq=notice.seq,
            role=notice.role,
            unit=notice.unit,
            channel=notice.channel,
            status=status,
            attempts=attempts,
            detail=detail,
        )


async def cancel_ended(pool: asyncpg.Pool) -> int:
    """Rows of ended tasks that will never go (their batch was cancelled between two
    attempts, when no code of ours ran to say so) marked `cancelled`; how many."""
    with sql_span(_CANCEL_ENDED):
        done = await pool.execute(_CANCEL_ENDED)
    return int(done.split()[-1]) if done else 0


async def waiting_by_channel(
    db: asyncpg.Pool | asyncpg.Connection,
) -> dict[str, tuple[int, datetime, str]]:
    """What waits on each channel now, from the outbox: how many notices failed for the
    moment and are to be tried again, since when (the oldest asked for), and the last
    error. For `duban ops doctor`: a channel with notices waiting on it is down, or was
    until a moment ago."""
    rows = await db.fetch(
        "SELECT channel, count(*) AS n, min(coalesce(due_at, created_at)) AS since, "
        "(array_agg(last_error ORDER BY created_at DESC) "
        "  FILTER (WHERE last_error IS NOT NULL))[1] AS why "
        "FROM notifications WHERE status = 'retrying' GROUP BY channel"
    )
    return {r["channel"]: (r["n"], r["since"], without_secrets(r["why"] or "")) for r in rows}
