"""Sending notifications through an outbox row, so a retry never sends twice what arrived."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channel, PermanentFailure
from activities.directory import Directory, DirectoryError, Reached
from activities.directory import load as load_directory
from activities.routing import route
from activities.sql import sql_span
from activities.templates import load as load_templates
from activities.templates import render
from workflows import activity_names
from workflows.contracts import Notice, NoticeBatch, NoticeOutcome
from workflows.windows import OFFICE_TZ

log = structlog.get_logger(__name__)

_CLAIM = """
INSERT INTO notifications (task_id, seq, role, unit, channel, kind, level, body)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (task_id, seq, role, unit, channel) DO UPDATE SET attempts = notifications.attempts
RETURNING status, attempts, last_error
"""
_MARK = """
UPDATE notifications
SET status = $6, attempts = attempts + $7, last_error = $8,
    person_id = coalesce($9, person_id), reached_via = coalesce($10, reached_via),
    delivered_at = CASE WHEN $6 = 'delivered' THEN now() ELSE delivered_at END
WHERE task_id = $1 AND seq = $2 AND role = $3 AND unit = $4 AND channel = $5
"""


def idempotency_key(n: Notice) -> str:
    """Stable for one (task, event, recipient, channel); ASCII so it fits an HTTP header."""
    natural = f"{n.task_id}\x1f{n.seq}\x1f{n.role}\x1f{n.unit}\x1f{n.channel}"
    return hashlib.sha256(natural.encode()).hexdigest()[:32]


class NotifyActivities:
    def __init__(
        self, pool: asyncpg.Pool, channels: dict[str, Channel], ui_url: str | None = None
    ) -> None:
        self.pool = pool
        self.channels = channels
        self.ui_url = ui_url

    @activity.defn(name=activity_names.SEND_NOTICE)
    async def send_notice(self, notice: Notice) -> NoticeOutcome:
        """Send over every channel the rules pick for the person reached, each once: a
        channel already delivered is skipped on a retry, a refused one is not tried again."""
        directory, templates = await load_directory(self.pool), await load_templates(self.pool)
        return await self._send(notice, directory, templates)

    async def _send(
        self, notice: Notice, directory: Directory, templates: dict[str, str]
    ) -> NoticeOutcome:
        reached = await self._reach(notice, directory)
        notice = self._in_words(notice, templates)
        names = route(notice, reached, self.channels)
        if not names:
            return await self._no_channel(notice)
        sent: list[NoticeOutcome] = []
        refused: list[str] = []
        temporary: Exception | None = None
        for name in names:
            try:
                sent.append(await self._over(notice.model_copy(update={"channel": name}), reached))
            except PermanentFailure as err:
                refused.append(f"{name}: {err}")
            except Exception as err:  # retried by Temporal; what was delivered stays so
                temporary = err
        if temporary is not None:
            raise temporary
        if not sent:
            raise ApplicationError(
                "; ".join(refused), type="NotificationRejected", non_retryable=True
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
        last = activity.info().attempt >= batch.attempts
        # The directory and the templates as they are now, read once for the batch.
        directory, templates = await load_directory(self.pool), await load_templates(self.pool)
        outcomes: list[NoticeOutcome] = []
        temporary: Exception | None = None
        for notice in batch.notices:
            try:
                outcomes.append(await self._send(notice, directory, templates))
            except Exception as err:
                rejected = isinstance(err, ApplicationError) and err.type == "NotificationRejected"
                if rejected:
                    outcomes.append(self._failed(notice, str(err)))
                elif last:
                    outcomes.append(self._failed(notice, f"{type(err).__name__}: {err}"))
                else:
                    temporary = err  # the others still go now; this one on the retry
        if temporary is not None:
            raise temporary
        return outcomes

    @staticmethod
    def _failed(notice: Notice, why: str) -> NoticeOutcome:
        return NotifyActivities._outcome(notice, "failed", activity.info().attempt, why)

    async def _over(self, notice: Notice, reached: Reached | None) -> NoticeOutcome:
        """One channel: claim its outbox row, send unless already done, record the result."""
        key = (notice.task_id, notice.seq, notice.role, notice.unit, notice.channel)
        row = await self._claim(key, notice)
        if row["status"] == "delivered":
            return self._outcome(notice, "delivered", row["attempts"], row["last_error"] or "")
        if row["status"] == "failed":
            raise PermanentFailure(row["last_error"] or "refused before")
        try:
            said = await self.channels[notice.channel].send(
                notice, idempotency_key(notice), reached
            )
        except PermanentFailure as err:
            await self._mark(key, "failed", 1, str(err), reached)
            raise
        except Exception as err:
            await self._mark(key, "retrying", 1, f"{type(err).__name__}: {err}", reached)
            raise
        await self._mark(key, "delivered", 1, None, reached)
        return self._outcome(notice, "delivered", row["attempts"] + 1, said)

    def _in_words(self, notice: Notice, templates: dict[str, str]) -> Notice:
        """The notice's text from the office's template for its kind, when there is one."""
        body = templates.get(notice.kind)
        if body is None:
            return notice
        text = render(body, notice, self.ui_url, datetime.now(OFFICE_TZ))
        return notice.model_copy(update={"text": text})

    async def _claim(self, key: tuple[Any, ...], notice: Notice) -> asyncpg.Record:
        with sql_span(_CLAIM):
            row = await self.pool.fetchrow(_CLAIM, *key, notice.kind, notice.level, notice.text)
        assert row is not None
        return row

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
            await self._claim(key, notice)
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
