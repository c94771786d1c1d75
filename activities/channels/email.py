"""Email over SMTP, UTF-8 throughout: DUBAN_SMTP_HOST, _PORT, _FROM, _USER, _PASSWORD,
_STARTTLS. The Message-ID is derived from the idempotency key so a mail server or client
can drop a duplicate."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from activities.channels.base import SETTINGS, ChannelSpec, PermanentFailure, need
from activities.directory import Reached
from workflows.contracts import Notice
from workflows.names import Channel


class EmailSettings(BaseSettings):
    model_config = SETTINGS

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "duban@localhost"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False


class EmailChannel:
    name = Channel.EMAIL

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
        to = need(reached, "email", self.name)
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


def _build(s: EmailSettings) -> EmailChannel | None:
    if not s.smtp_host:
        return None
    password = s.smtp_password.get_secret_value() if s.smtp_password else None
    return EmailChannel(
        s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_user, password, s.smtp_starttls
    )


# The Message-ID is the key: a mail server or client drops the second copy.
CHANNEL = ChannelSpec(
    name=Channel.EMAIL, settings=EmailSettings, build=_build, contact="email", dedup=True
)
