"""Working-day deadlines on China's calendar: holidays, make-up days, closing time, fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError

from activities.calendar import (
    FALLBACK_NOTE,
    Override,
    Overrides,
    WorkingCalendar,
    classify,
    library_knows,
)
from workflows.contracts import DeadlineRequest, MarginRequest

CST = timezone(timedelta(hours=8))


def at(y: int, m: int, d: int, hour: int = 18, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=CST)


def deadline(opened: datetime, n: int, overrides: Overrides | None = None, **kw: object):  # type: ignore[no-untyped-def]
    cal = WorkingCalendar(**kw)  # type: ignore[arg-type]
    return cal.deadline(DeadlineRequest(opened_at=opened, working_days=n), overrides or Overrides())


def test_an_ordinary_week_skips_the_weekend() -> None:
    assert deadline(at(2026, 11, 20, 10), 1).at == at(2026, 11, 23)  # Friday -> Monday
    assert deadline(at(2026, 11, 23, 9), 5).at == at(2026, 11, 30)
    assert deadline(at(2026, 11, 23, 23, 59), 1).at == at(2026, 11, 24)  # opening day not counted


def test_spring_festival_2026_and_its_make_up_saturday() -> None:
    # Saturday 14 February is a make-up working day; 15-23 February are the holiday.
    first = deadline(at(2026, 2, 13, 10), 1)
    assert first.at == at(2026, 2, 14)
    crossing = deadline(at(2026, 2, 13, 10), 2)
    assert crossing.at == at(2026, 2, 24)
    assert "春节" in crossing.rule and not crossing.fallback
    assert (date(2026, 2, 16), "春节") in crossing.skipped


def test_national_day_2026_and_its_make_up_saturday() -> None:
    assert deadline(at(2026, 9, 30, 10), 1).at == at(2026, 10, 8)
    # 8 and 9 October, then Saturday 10 October, a make-up working day.
    three = deadline(at(2026, 9, 30, 10), 3)
    assert three.at == at(2026, 10, 10)
    assert "国庆节" in three.rule


@pytest.mark.parametrize(
    ("opened", "due"), [((2026, 1, 3), (2026, 1, 4)), ((2026, 9, 19), (2026, 9, 20))]
)
def test_make_up_sundays_count(opened: tuple[int, int, int], due: tuple[int, int, int]) -> None:
    assert deadline(at(*opened, 10), 1).at == at(*due)
    assert classify(date(*due)).why == "调休上班"


def test_a_window_into_a_year_nobody_published_falls_back_and_says_so() -> None:
    if library_knows(2027):
        pytest.skip("chinesecalendar now knows 2027; the 2099 case below still covers this")
    result = deadline(at(2026, 12, 30, 10), 3)
    # 31 December, then 1 January 2027 (a weekday: no holiday is known), then Monday.
    assert result.at == at(2027, 1, 4)
    assert result.fallback and FALLBACK_NOTE in result.rule


def test_a_year_beyond_any_calendar_falls_back() -> None:
    result = deadline(at(2099, 3, 6, 10), 1)  # a Friday
    assert result.at == at(2099, 3, 9) and result.fallback


def test_the_operators_table_overrides_and_publishes_a_year() -> None:
    if library_knows(2027):
        pytest.skip("chinesecalendar now knows 2027")
    table = Overrides({date(2027, 1, 1): Override("holiday", "元旦")}, frozenset({2027}))
    result = deadline(at(2026, 12, 30, 10), 3, table)
    assert result.at == at(2027, 1, 5)
    assert not result.fallback and "元旦" in result.rule
    # A make-up working day typed in by hand counts.
    saturday = Overrides({date(2026, 11, 21): Override("workday", "调休")}, frozenset({2026}))
    assert deadline(at(2026, 11, 20, 10), 1, saturday).at == at(2026, 11, 21)


def test_the_table_beats_the_library() -> None:
    revised = Overrides({date(2026, 10, 8): Override("holiday", "国庆节（延长）")})
    assert deadline(at(2026, 9, 30, 10), 1, revised).at == at(2026, 10, 9)


def test_closing_time_and_time_zone() -> None:
    assert deadline(at(2026, 11, 20, 10), 1, closing=time(17, 30)).at == at(2026, 11, 23, 17, 30)
    utc = deadline(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), 1)  # Saturday 01:00 in Shanghai
    assert utc.at == at(2026, 11, 23) and utc.at.utcoffset() == timedelta(hours=8)
    assert "2026-11-21 01:00" in utc.rule


def test_on_date_is_the_closing_time_that_day() -> None:
    cal = WorkingCalendar()
    req = DeadlineRequest(
        opened_at=at(2026, 11, 20, 10), working_days=0, on_date=date(2026, 12, 31)
    )
    result = cal.deadline(req, Overrides())
    assert result.at.isoformat() == "2026-12-31T18:00:00+08:00"


def test_the_warning_margin_starts_a_working_day_before() -> None:
    cal = WorkingCalendar()
    monday = MarginRequest(deadline=at(2026, 11, 23), margin="1wd")
    assert cal.margin_start(monday) == at(2026, 11, 20)  # the Friday before
    after_holiday = MarginRequest(deadline=at(2026, 10, 8), margin="1wd")
    assert cal.margin_start(after_holiday) == at(2026, 9, 30)


def test_working_hours() -> None:
    cal = WorkingCalendar()
    inside = at(2026, 11, 23, 10)
    assert cal.working_hours_from(inside) == inside
    assert cal.working_hours_from(at(2026, 11, 23, 7)) == at(2026, 11, 23, 9)
    assert cal.working_hours_from(at(2026, 11, 20, 19)) == at(2026, 11, 23, 9)  # Friday evening
    assert cal.working_hours_from(at(2026, 9, 30, 20)) == at(2026, 10, 8, 9)  # into the holiday


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValidationError):
        DeadlineRequest(opened_at=at(2026, 11, 20, 10), working_days=-1)


def test_a_naive_opening_time_is_refused() -> None:
    with pytest.raises(ValidationError):
        DeadlineRequest(opened_at=datetime(2026, 11, 20, 10), working_days=1)
