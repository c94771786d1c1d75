"""Periods as the board and the reports write them, and the runs of working days the
lateness is counted in."""

from __future__ import annotations

from datetime import date

import pytest

from activities.lateness import _and, _minus, _norm, _size
from activities.periods import Period, PeriodError


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "label"),
    [
        ("2026-11", "month", date(2026, 11, 1), date(2026, 12, 1), "2026年11月"),
        ("2026-12", "month", date(2026, 12, 1), date(2027, 1, 1), "2026年12月"),
        ("2026-Q1", "quarter", date(2026, 1, 1), date(2026, 4, 1), "2026年第一季度"),
        ("2026-q4", "quarter", date(2026, 10, 1), date(2027, 1, 1), "2026年第四季度"),
        ("2026", "year", date(2026, 1, 1), date(2027, 1, 1), "2026年"),
    ],
)
def test_a_period_read_and_said(text: str, kind: str, start: date, end: date, label: str) -> None:
    p = Period.parse(text)
    assert (p.kind, p.start, p.end, p.label) == (kind, start, end, label)
    assert Period.parse(p.key) == p
    assert p.following().previous() == p


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26", "2026-1", "1999", "2026-Q4x", ""])
def test_a_period_written_wrong(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


def test_the_period_containing_a_day() -> None:
    day = date(2026, 11, 23)
    assert Period.containing(day, "quarter").key == "2026-Q4"
    assert Period.containing(day, "month").key == "2026-11"
    assert Period.containing(day, "year").previous().key == "2025"


def test_runs_of_working_days() -> None:
    a = _norm([(5, 9), (0, 3), (2, 4), (9, 10), (7, 7)])
    assert a == [(0, 4), (5, 10)] and _size(a) == 9
    b = [(3, 6), (8, 12)]
    assert _and(a, b) == [(3, 4), (5, 6), (8, 10)]
    assert _minus(a, b) == [(0, 3), (6, 8)]
    assert _minus(a, []) == a and _and(a, []) == []
    assert _minus([(0, 10)], [(2, 3), (5, 6)]) == [(0, 2), (3, 5), (6, 10)]
