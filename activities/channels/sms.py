"""An HTTP SMS gateway: one templated message to the person's mobile. DUBAN_SMS_URL,
DUBAN_SMS_KEY (a bearer token) and DUBAN_SMS_TEMPLATE."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from activities.channels._robot import check
from activities.channels.base import SETTINGS, ChannelSpec, need
from activities.directory import Reached
from workflows.contracts import Notice
from workflows.names import Channel


class SmsSettings(BaseSettings):
    model_config = SETTINGS

    sms_url: str | None = None  # the SMS gateway
    sms_key: SecretStr | None = None
    sms_template: str = "DUBAN_NOTICE"


class SmsChannel:
    name = Channel.SMS

    def __init__(self, url: str, api_key: str, template: str) -> None:
        self.url, self.api_key, self.template = url, api_key, template
        self.client = httpx.AsyncClient(timeout=10.0)

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        mobile = need(reached, "mobile", self.name)
        response = await self.client.post(
            self.url,
            json={
                "to": mobile,
                "template": self.template,
                "params": {"task": notice.task_id, "title": notice.title, "text": notice.text},
                "request_id": idempotency_key,
            },
            headers={"Authorization": f"Bearer {self.api_key}", "Idempotency-Key": idempotency_key},
        )
        return check(response, "code")

    async def close(self) -> None:
        await self.client.aclose()


def _build(s: SmsSettings) -> SmsChannel | None:
    if not s.sms_url:
        return None
    key = s.sms_key.get_secret_value() if s.sms_key else ""
    return SmsChannel(s.sms_url, key, s.sms_template)


# The gateway takes the key as its request_id and Idempotency-Key: a retry is sent once.
CHANNEL = ChannelSpec(
    name=Channel.SMS, settings=SmsSettings, build=_build, contact="mobile", dedup=True
)
