"""What the work-group robots share (S1 第八条): the POST to the robot's webhook, reading its
answer, and the HMAC signatures DingTalk and Feishu ask for (加签)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Any

import httpx

from activities.channels.base import PermanentFailure, need
from activities.directory import Reached
from workflows.contracts import Notice

# Robot error codes that mean "too fast, try later"; any other non-zero code is final.
_RATE_LIMITED = {45009, 130101, 9499, 11232}


def check(response: httpx.Response, code_field: str) -> str:
    """A peer's answer: 5xx, 408, 429 and rate limits are temporary, any other error final."""
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise ConnectionError(f"HTTP {response.status_code} from the {code_field} peer")
    if response.status_code >= 400:
        raise PermanentFailure(f"HTTP {response.status_code}: {response.text[:200]}")
    body: dict[str, Any] = response.json() if response.content else {}
    code = int(body.get(code_field, body.get("StatusCode", 0)) or 0)
    if code in _RATE_LIMITED:
        raise ConnectionError(f"rate limited ({code_field} {code})")
    if code != 0:
        raise PermanentFailure(f"{code_field} {code}: {body.get('errmsg') or body.get('msg')}")
    return f"HTTP {response.status_code}, {code_field} 0"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signed webhook: HMAC-SHA256 of "timestamp\\nsecret", base64, URL-quoted."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return urllib.parse.quote_plus(base64.b64encode(digest.digest()).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signed webhook: HMAC-SHA256 keyed with "timestamp\\nsecret" over nothing."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


class Robot:
    """A work-group robot; the person reached is @-mentioned by mobile. A robot module says
    its name, the field its answer's code is in, its payload and, if it signs, how."""

    name: str
    code_field = "errcode"

    def __init__(self, url: str, secret: str | None = None) -> None:
        self.url = url
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=10.0)

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        mention = need(reached, "mobile", self.name) if reached else None
        url, payload = self.signed(self.url, self.payload(notice.text, mention))
        response = await self.client.post(url, json=payload)
        return check(response, self.code_field)

    def payload(self, text: str, mobile: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def signed(self, url: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The URL and payload as sent; unsigned by default."""
        return url, payload

    async def close(self) -> None:
        await self.client.aclose()
