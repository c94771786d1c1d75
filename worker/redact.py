"""Keep people's contacts and secrets out of logs: phone numbers, emails and tokens are
masked in every string a log line carries, its traceback's included."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from activities.channels.base import without_secrets

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Mainland mobile numbers (1[3-9] and nine digits), with or without +86.
_MOBILE = re.compile(r"(?<!\d)(\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
# Tokens in headers and free text: Bearer ..., and key=... outside a URL.
_TOKEN = re.compile(
    r"((?:access_token|token|key|sign|secret|password|api_key)=)[^&\s\"']+|(Bearer\s+)\S+",
    re.IGNORECASE,
)
# A password in a database URL: scheme://user:password@host
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)")
_SECRET_KEYS = ("password", "token", "secret", "api_key", "authorization", "dsn")


def mask(text: str) -> str:
    # Every URL's user, password and query, as a channel's error detail masks them.
    text = without_secrets(text)
    text = _URL_PASSWORD.sub(r"\1***\2", text)
    text = _TOKEN.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)
    text = _EMAIL.sub(lambda m: m.group(0)[0] + "***@" + m.group(0).split("@")[1], text)
    return _MOBILE.sub(lambda m: m.group(0)[:3] + "****" + m.group(0)[-4:], text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v) for v in value)
    return value


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: mask every value; drop the values of secret-named keys. It
    runs after the exception is rendered, so a traceback is masked as every line is."""
    for key, value in list(event_dict.items()):
        if any(word in key.lower() for word in _SECRET_KEYS):
            event_dict[key] = "***"
        else:
            event_dict[key] = _clean(value)
    return event_dict
