"""Feishu (飞书) group robot, signed when it has a secret: DUBAN_FEISHU_URL and
DUBAN_FEISHU_SECRET; reaches a person with a Feishu id."""

from __future__ import annotations

import time
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from activities.channels._robot import Robot, feishu_sign
from activities.channels.base import SETTINGS, ChannelSpec
from workflows.names import Channel


class FeishuSettings(BaseSettings):
    model_config = SETTINGS

    feishu_url: str | None = None  # the group robot's webhook
    feishu_secret: SecretStr | None = None  # its signing secret


class FeishuRobot(Robot):
    name = Channel.FEISHU
    code_field = "code"

    def payload(self, text: str, mobile: str | None) -> dict[str, Any]:
        return {"msg_type": "text", "content": {"text": text}}

    def signed(self, url: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.secret:
            ts = int(time.time())
            payload.update(timestamp=str(ts), sign=feishu_sign(self.secret, ts))
        return url, payload


def _build(s: FeishuSettings) -> FeishuRobot | None:
    if not s.feishu_url:
        return None
    secret = s.feishu_secret.get_secret_value() if s.feishu_secret else None
    return FeishuRobot(s.feishu_url, secret)


CHANNEL = ChannelSpec(
    name=Channel.FEISHU, settings=FeishuSettings, build=_build, contact="feishu", im=True
)
