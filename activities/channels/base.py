"""What every channel is: a sender with `send`, the settings it reads, the contact it needs
from a person, and whether it is an IM robot. A channel module declares one `CHANNEL`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.directory import Reached
from workflows.contracts import Notice
from workflows.names import Channel as ChannelName

# Every channel's settings class uses this: DUBAN_<FIELD> from the environment, others ignored.
SETTINGS = SettingsConfigDict(env_prefix="DUBAN_", extra="ignore")


class PermanentFailure(Exception):
    """The peer refused the notice for good (bad address, rejected payload): do not retry."""


class TemporaryFailure(ConnectionError):
    """The notice could not go now (the peer is down, busy or unreachable): retry. Its text
    is `error_text` of what happened, already without secrets; `channel` names the channel."""

    def __init__(self, why: str, channel: str = "") -> None:
        super().__init__(why)
        self.channel = channel


# A URL anywhere in a text, up to the first space or quote.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>]+")
# A secret-named parameter outside a URL (a peer may echo its query back): key=value.
_SECRET_PARAM = re.compile(
    r"\b((?:access_token|token|key|sign|signature|secret|password|api_key)=)[^&\s\"']+",
    re.IGNORECASE,
)


def mask_url(url: str) -> str:
    """The URL with its user and password, its query string and its fragment masked: what a
    robot's key, a signature or a database password travel in."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL urllib can read: keep only its scheme
        return url.split("://", 1)[0] + "://***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def without_secrets(text: str) -> str:
    """The text with every URL masked (mask_url) and every secret-named key=value masked."""
    text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    return _SECRET_PARAM.sub(lambda m: m.group(1) + "***", text)


def error_text(err: BaseException) -> str:
    """What a failed send records and raises, in one place: the error's type and words, with
    no URL's credentials or query (httpx's and a peer's words may carry the URL as sent)."""
    said = without_secrets(str(err))
    if isinstance(err, PermanentFailure | TemporaryFailure):
        return said  # duban's own words: the type says nothing more
    return f"{type(err).__name__}: {said}" if said else type(err).__name__


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    async def send(self, notice: Notice, idempotency_key: str, reached: Reached | None) -> str:
        """Deliver the notice to the person reached (None: to the role's channel); return
        what the peer said. Raise PermanentFailure, or anything else for a temporary one."""
        ...


S = TypeVar("S", bound=BaseSettings)


@dataclass(frozen=True)
class ChannelSpec(Generic[S]):
    """One channel as the registry knows it."""

    name: ChannelName
    settings: type[S]  # its own DUBAN_* settings (model_config = SETTINGS)
    build: Callable[[S], Channel | None]  # the sender, or None when its settings leave it off
    contact: str | None  # what it needs from a person (Person.contact); None: the role's
    im: bool = False  # a work-group robot: routing's "IM" picks one of these per person
    # The peer drops a second request with the same idempotency key (an Idempotency-Key
    # header, a request id, a Message-ID): a retry after a lost answer reaches nobody twice.
    # False: at least once, and a retry of a row found `sending` is flagged possible_duplicate.
    dedup: bool = False


def need(reached: Reached | None, contact: str, channel: str) -> str:
    """The person's contact of this kind, or a permanent failure naming who lacks it."""
    value = reached.person.contact(contact) if reached else None
    if not value:
        who = reached.person.id if reached else "the role (no directory)"
        raise PermanentFailure(f"{who} has no {contact} for {channel}")
    return value
