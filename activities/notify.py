"""Sending notifications through an outbox row, so a retry never sends twice what arrived."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channel, PermanentFailure
from activities.sql import sql_span
from workflows import activity_names
from workflows.contracts import Notice, NoticeOutcome

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
    delivered_at = CASE WHEN $6 = 'delivered' THEN now() ELSE delivered_at END
WHERE task_id = $1 AND seq = $2 AND role = $3 AND unit = $4 AND channel = $5
"""


def idempotency_key(n: Notice) -> str:
    """Stable for one (task, event, recipient, channel); ASCII so it fits an HTTP header."""
    natural = f"{n.task_id}\x1f{n.seq}\x1f{n.role}\x1f{n.unit}\x1f{n.channel}"
    return hashlib.sha256(natural.encode()).hexdigest()[:32]


class NotifyActivities:
    def __init__(self, pool: asyncpg.Pool, channels: dict[str, Channel]) -> None:
        self.pool = pool
        self.channels = channels

    @activity.defn(name=activity_names.SEND_NOTICE)
    async def send_notice(self, notice: Notice) -> NoticeOutcome:
        key = (notice.task_id, notice.seq, notice.role, notice.unit, notice.channel)
        with sql_span(_CLAIM):
            row = await self.pool.fetchrow(_CLAIM, *key, notice.kind, notice.level, notice.text)
        assert row is not None
        if row["status"] in ("delivered", "failed", "no_channel"):
            return self._outcome(notice, row["status"], row["attempts"], row["last_error"] or "")
        channel = self.channels.get(notice.channel)
        if channel is None:
            detail = f"no {notice.channel} channel configured (set DUBAN_WEBHOOK_URL)"
            log.warning("notification not sent", reason=detail, role=notice.role, unit=notice.unit)
            await self._mark(key, "no_channel", 0, detail)
            return self._outcome(notice, "no_channel", row["attempts"], detail)
        try:
            said = await channel.send(notice, idempotency_key(notice))
        except PermanentFailure as err:
            await self._mark(key, "failed", 1, str(err))
            raise ApplicationError(
                str(err), type="NotificationRejected", non_retryable=True
            ) from err
        except Exception as err:
            await self._mark(key, "retrying", 1, f"{type(err).__name__}: {err}")
            raise
        await self._mark(key, "delivered", 1, None)
        return self._outcome(notice, "delivered", row["attempts"] + 1, said)

    async def _mark(self, key: tuple[Any, ...], status: str, tried: int, error: str | None) -> None:
        with sql_span(_MARK):
            await self.pool.execute(_MARK, *key, status, tried, error)
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
