"""The channels offices use (S1 第八条, S0 §7): IM work-group robots (WeCom, DingTalk with
its signed webhooks, Feishu), an HTTP SMS gateway, and email over SMTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from activities.channels import PermanentFailure
from activities.directory import Reached
from workflows.contracts import Notice

# Robot error codes that mean "too fast, try later"; any other non-zero code is final.
_RATE_LIMITED = {45009, 130101, 9499, 11232}


def _need(reached: Reached | None, contact: str, channel: str) -> str:
    value = getattr(reached.person, contact) if reached else None
    if not value:
        who = reached.person.id if reached else "the role (no directory)"
        raise PermanentFailure(f"{who} has no {contact} for {channel}")
    return str(value)


def _check(response: httpx.Response, code_field: str) -> str:
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


class RobotChannel:
    """A work-group robot; the person reached is @-mentioned by mobile or id."""

    def __init__(self, name: str, url: str, secret: str | None = None) -> None:
        if name not in ("wecom", "dingtalk", "feishu"):
            raise ValueError(f"unknown robot {name!r}")
        self.name = name
        self.url = url
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=10.0)

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        mention = _need(reached, "mobile", self.name) if reached else None
        url, payload = self.url, self._payload(notice.text, mention)
        if self.name == "dingtalk" and self.secret:
            ts = int(time.time() * 1000)
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(self.secret, ts)}"
        if self.name == "feishu" and self.secret:
            ts = int(time.time())
            payload.update(timestamp=str(ts), sign=feishu_sign(self.secret, ts))
        response = await self.client.post(url, json=payload)
        return _check(response, "code" if self.name == "feishu" else "errcode")

    def _payload(self, text: str, mobile: str | None) -> dict[str, Any]:
        mobiles = [mobile] if mobile else []
        if self.name == "wecom":
            return {"msgtype": "text", "text": {"content": text, "mentioned_mobile_list": mobiles}}
        if self.name == "dingtalk":
            return {"msgtype": "text", "text": {"content": text}, "at": {"atMobiles": mobiles}}
        return {"msg_type": "text", "content": {"text": text}}


class SmsChannel:
    """An HTTP SMS gateway: one templated message to the person's mobile."""

    name = "sms"

    def __init__(self, url: str, api_key: str, template: str) -> None:
        self.url, self.api_key, self.template = url, api_key, template
        self.client = httpx.AsyncClient(timeout=10.0)

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        mobile = _need(reached, "mobile", "sms")
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
        return _check(response, "code")


class EmailChannel:
    """Email over SMTP, UTF-8 throughout; the Message-ID is derived from the idempotency key
    so a mail server or client can drop a duplicate."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls = username, password, starttls

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        to = _need(reached, "email", "email")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = f"【督办】{notice.title}（{notice.task_id}）第 {notice.level} 级"
        message["Message-ID"] = f"<{idempotency_key}@duban>"
        message.set_content(notice.text, charset="utf-8")
        try:
            _, said = await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.starttls,
                timeout=10,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            raise PermanentFailure(f"{to} refused: {err}") from err
        return f"SMTP {said}"
