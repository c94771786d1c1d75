"""Notification channels. A channel sends one notice and says whether a failure is final."""

from __future__ import annotations

from typing import Protocol

import httpx

from activities.directory import Reached
from workflows.contracts import Notice
from workflows.policy import ROLE_LABELS


class PermanentFailure(Exception):
    """The peer refused the notice for good (bad address, rejected payload): do not retry."""


class Channel(Protocol):
    name: str

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        """Deliver the notice to the person reached (None: to the role's channel); return
        what the peer said. Raise PermanentFailure, or anything else for a temporary one."""
        ...


class WebhookChannel:
    """A JSON POST to one URL, with an idempotency key the receiver can deduplicate on."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.client = httpx.AsyncClient(timeout=timeout)

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        payload = {
            "task_id": notice.task_id,
            "title": notice.title,
            "level": notice.level,
            "kind": notice.kind,
            "recipient_role": notice.role,
            "recipient_label": ROLE_LABELS[notice.role],
            "unit": notice.unit,
            "text": notice.text,
            "deadline": notice.deadline.isoformat() if notice.deadline else None,
            "idempotency_key": idempotency_key,
            "person": {"id": reached.person.id, "name": reached.person.name} if reached else None,
            "reached_via": reached.via if reached else None,
        }
        response = await self.client.post(
            self.url, json=payload, headers={"Idempotency-Key": idempotency_key}
        )
        status = response.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        detail = f"HTTP {status} from {self.url}: {response.text[:200]}"
        if 400 <= status < 500 and status not in (408, 425, 429):
            raise PermanentFailure(detail)
        raise ConnectionError(detail)

    async def close(self) -> None:
        await self.client.aclose()
