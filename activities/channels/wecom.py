"""WeCom (企业微信) group robot: DUBAN_WECOM_URL; reaches a person with a WeCom id."""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings

from activities.channels._robot import Robot
from activities.channels.base import SETTINGS, ChannelSpec
from workflows.names import Channel


class WecomSettings(BaseSettings):
    model_config = SETTINGS

    wecom_url: str | None = None  # the group robot's webhook


class WecomRobot(Robot):
    name = Channel.WECOM

    def payload(self, text: str, mobile: str | None) -> dict[str, Any]:
        mobiles = [mobile] if mobile else []
        return {"msgtype": "text", "text": {"content": text, "mentioned_mobile_list": mobiles}}


CHANNEL = ChannelSpec(
    name=Channel.WECOM,
    settings=WecomSettings,
    build=lambda s: WecomRobot(s.wecom_url) if s.wecom_url else None,
    contact="wecom",
    im=True,
)
