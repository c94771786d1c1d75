"""DingTalk (钉钉) group robot, signed when it has a secret: DUBAN_DINGTALK_URL and
DUBAN_DINGTALK_SECRET; reaches a person with a DingTalk id."""

from __future__ import annotations

import time
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from activities.channels._robot import Robot, dingtalk_sign
from activities.channels.base import SETTINGS, ChannelSpec
from workflows.names import Channel


class DingtalkSettings(BaseSettings):
    model_config = SETTINGS

    dingtalk_url: str | None = None  # the group robot's webhook
    dingtalk_secret: SecretStr | None = None  # its signing secret (加签)


class DingtalkRobot(Robot):
    name = Channel.DINGTALK

    def payload(self, text: str, mobile: str | None) -> dict[str, Any]:
        mobiles = [mobile] if mobile else []
        return {"msgtype": "text", "text": {"content": text}, "at": {"atMobiles": mobiles}}

    def signed(self, url: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if not self.secret:
            return url, payload
        ts = int(time.time() * 1000)
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(self.secret, ts)}", payload


def _build(s: DingtalkSettings) -> DingtalkRobot | None:
    if not s.dingtalk_url:
        return None
    secret = s.dingtalk_secret.get_secret_value() if s.dingtalk_secret else None
    return DingtalkRobot(s.dingtalk_url, secret)


CHANNEL = ChannelSpec(
    name=Channel.DINGTALK, settings=DingtalkSettings, build=_build, contact="dingtalk", im=True
)
