"""Window lengths as written in a policy: working days (`5wd`) or plain durations (`30s`)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

_PATTERN = re.compile(r"^\s*(\d+)\s*(wd|s|m|h|d)\s*$")
_PLAIN_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Days each unit spans at most (five working days take seven), to refuse absurd windows.
_DAYS_PER = {"s": 1 / 86400, "m": 1 / 1440, "h": 1 / 24, "d": 1.0, "wd": 7 / 5}
_LONGEST_DAYS = 3653


def parse(text: str) -> tuple[int, str]:
    """Split a duration into its amount and unit, refusing anything else in one line."""
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"bad duration {text!r}: write e.g. 5wd (working days), 30s, 10m, 2h or 3d"
        )
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError(f"bad duration {text!r}: it must be longer than zero")
    if amount * _DAYS_PER[unit] > _LONGEST_DAYS:
        raise ValueError(f"bad duration {text!r}: a window may last ten years at most")
    return amount, unit


def _normalise(text: str) -> str:
    amount, unit = parse(text)
    return f"{amount}{unit}"


# A duration string, validated and normalised ("5 wd" -> "5wd").
Duration = Annotated[str, AfterValidator(_normalise)]


def working_days(text: str) -> int | None:
    """The number of working days, or None when the duration is a plain one."""
    amount, unit = parse(text)
    return amount if unit == "wd" else None


def plain(text: str) -> timedelta:
    """A plain duration as a timedelta; working days have no fixed length."""
    amount, unit = parse(text)
    if unit == "wd":
        raise ValueError(f"{text!r} counts working days; ask the calendar")
    return timedelta(**{_PLAIN_UNITS[unit]: amount})


def times(text: str, factor: int) -> str:
    """The duration `factor` times over: a reminder's wait doubles each time."""
    amount, unit = parse(text)
    return f"{amount * factor}{unit}"


_SAID = {"wd": "个工作日", "s": "秒", "m": "分钟", "h": "小时", "d": "天"}


def say(text: str) -> str:
    """A duration as a person reads it: 5wd → 5 个工作日, 4h → 4 小时."""
    amount, unit = parse(text)
    return f"{amount} {_SAID[unit]}"
