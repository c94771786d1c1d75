"""Window lengths: parsing, normalising, and the refusals a policy author sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel, ValidationError

from workflows.durations import Duration, parse, plain, working_days


class Holder(BaseModel):
    value: Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5wd", (5, "wd")),
        ("5 wd", (5, "wd")),
        ("  30s ", (30, "s")),
        ("10m", (10, "m")),
        ("2h", (2, "h")),
        ("3d", (3, "d")),
        ("007h", (7, "h")),
    ],
)
def test_parse_splits_amount_and_unit(text: str, expected: tuple[int, str]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "normal"), [("5 wd", "5wd"), (" 30 s ", "30s"), ("05h", "5h"), ("1d", "1d")]
)
def test_duration_type_normalises(text: str, normal: str) -> None:
    assert Holder(value=text).value == normal


def test_working_days_counts_only_working_days() -> None:
    assert working_days("5wd") == 5
    assert working_days("5 wd") == 5
    assert working_days("2h") is None
    assert working_days("3d") is None


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
    ],
)
def test_plain_gives_a_timedelta(text: str, delta: timedelta) -> None:
    assert plain(text) == delta


def test_plain_refuses_working_days() -> None:
    with pytest.raises(ValueError, match="counts working days"):
        plain("5wd")


@pytest.mark.parametrize("text", ["5x", "", "-3h", "wd", "5", "5 w d", "1.5h", "5wd later"])
def test_refuses_malformed(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(text)
    message = str(info.value)
    assert message.startswith(f"bad duration {text!r}")
    assert "write e.g. 5wd" in message
    assert "\n" not in message


@pytest.mark.parametrize("text", ["0wd", "0s", "00h"])
def test_refuses_zero(text: str) -> None:
    with pytest.raises(ValueError, match="must be longer than zero") as info:
        parse(text)
    assert repr(text) in str(info.value)


def test_refuses_non_string() -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse(5)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["5x", "0wd", "", "-3h"])
def test_duration_type_refuses_with_the_reason(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        Holder(value=text)
    assert "bad duration" in str(info.value)


@pytest.mark.parametrize("fn", [working_days, plain])
def test_helpers_refuse_malformed(fn: object) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        fn("5x")  # type: ignore[operator]


@pytest.mark.parametrize("text", ["99999999999d", "99999999999h", "3000wd", "3654d"])
def test_a_window_longer_than_ten_years_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="ten years at most"):
        Holder(value=text)


def test_a_window_of_ten_years_is_accepted() -> None:
    assert plain(Holder(value="3653d").value) == timedelta(days=3653)
