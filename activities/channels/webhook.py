"""The generic webhook: each notice as a JSON POST to DUBAN_WEBHOOK_URL, with an
idempotency key the receiver can deduplicate on. It is addressed to the role (the person
reached rides along), so it needs no contact and gets a copy of every notice."""

from __future__ import annotations

import httpx
from pydantic_settings import BaseSettings

from activities.channels.base import SETTINGS, ChannelSpec, PermanentFailure, mask_url
from activities.directory import Reached
from workflows.contracts import Notice
from workflows.names import Channel
from workflows.policy import ROLE_LABELS


class WebhookSettings(BaseSettings):
    model_config = SETTINGS

    webhook_url: str | None = None  # unset: notices are recorded as undelivered


class WebhookChannel:
    name = Channel.WEBHOOK

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
            # Where the person reached acts on it (activities.links), if it asks anything.
            "action_url": (reached.action_url or None) if reached else None,
        }
        response = await self.client.post(
            self.url, json=payload, headers={"Idempotency-Key": idempotency_key}
        )
        status = response.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        # Where it went, without the URL's user, password or query (a token travels there).
        detail = f"HTTP {status} from {mask_url(self.url)}: {response.text[:200]}"
        if 400 <= status < 500 and status not in (408, 425, 429):
            raise PermanentFailure(detail)
        raise ConnectionError(detail)

    async def close(self) -> None:
        await self.client.aclose()


CHANNEL = ChannelSpec(
    name=Channel.WEBHOOK,
    settings=WebhookSettings,
    build=lambda s: WebhookChannel(s.webhook_url) if s.webhook_url else None,
    contact=None,
    dedup=True,  # the Idempotency-Key header
)
