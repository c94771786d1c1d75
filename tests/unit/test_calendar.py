"""Working-day deadlines: Monday to Friday, closing time, in the office's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError

from activities.calendar import WorkingCalendar, is_working_day, nth_working_day_after
from workflows.contracts import DeadlineRequest

CST = timezone(timedelta(hours=8))


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


def deadline(opened: datetime, n: int, **kw: object) -> datetime:
    cal = WorkingCalendar(**kw)  # type: ignore[arg-type]
    return cal.deadline(DeadlineRequest(opened_at=opened, working_days=n)).at


def test_is_working_day() -> None:
    assert is_working_day(date(2026, 11, 20))  # Friday
    assert not is_working_day(date(2026, 11, 21))  # Saturday
    assert not is_working_day(date(2026, 11, 22))  # Sunday
    assert is_working_day(date(2026, 11, 23))  # Monday


def test_nth_working_day_after_skips_the_weekend() -> None:
    assert nth_working_day_after(date(2026, 11, 20), 1) == date(2026, 11, 23)
    assert nth_working_day_after(date(2026, 11, 19), 1) == date(2026, 11, 20)
    assert nth_working_day_after(date(2026, 11, 20), 0) == date(2026, 11, 20)


def test_friday_plus_one_working_day_is_monday_closing() -> None:
    result = deadline(at(20, 10), 1)
    assert result == at(23, 18)
    assert result.utcoffset() == timedelta(hours=8)


def test_monday_plus_five_working_days_is_next_monday() -> None:
    assert deadline(at(23, 9), 5) == at(30, 18)


def test_ten_working_days_span_two_weekends() -> None:
    assert deadline(at(23, 9), 10) == datetime(2026, 12, 7, 18, tzinfo=CST)


def test_the_day_of_opening_does_not_count_even_before_closing() -> None:
    assert deadline(at(23, 8), 1) == at(24, 18)
    assert deadline(at(23, 23, 59), 1) == at(24, 18)


@pytest.mark.parametrize(("opened", "n", "due"), [(21, 1, 23), (22, 1, 23), (21, 5, 27)])
def test_opened_on_the_weekend_counts_from_monday(opened: int, n: int, due: int) -> None:
    assert deadline(at(opened, 11), n) == at(due, 18)


def test_utc_opening_is_converted_to_shanghai_first() -> None:
    # Friday 17:00 UTC is Saturday 01:00 in Shanghai: the window counts from Monday.
    opened = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert deadline(opened, 1) == at(23, 18)
    # Friday 09:00 UTC is still Friday (17:00) in Shanghai.
    assert deadline(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), 1) == at(23, 18)
    # Thursday 16:30 UTC is Friday 00:30 in Shanghai: one working day is Monday, not Friday.
    assert deadline(datetime(2026, 11, 19, 16, 30, tzinfo=UTC), 1) == at(23, 18)


def test_result_is_in_the_office_time_zone() -> None:
    result = deadline(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), 1)
    assert result.utcoffset() == timedelta(hours=8)
    assert result.astimezone(UTC) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_another_time_zone_is_honoured() -> None:
    # 2026-11-20T23:00Z is Friday 18:00 in New York: one working day is Monday 18:00 there.
    result = deadline(datetime(2026, 11, 20, 23, 0, tzinfo=UTC), 1, tz="America/New_York")
    assert result.isoformat() == "2026-11-23T18:00:00-05:00"


def test_on_date_is_the_closing_time_that_day() -> None:
    cal = WorkingCalendar()
    result = cal.deadline(
        DeadlineRequest(opened_at=at(20, 10), working_days=5, on_date=date(2026, 12, 31))
    )
    assert result.at == datetime(2026, 12, 31, 18, 0, tzinfo=CST)
    assert result.at.isoformat() == "2026-12-31T18:00:00+08:00"
    assert "2026-12-31" in result.rule
    assert "18:00" in result.rule
    assert result.fallback is False


def test_configured_closing_time_is_used() -> None:
    cal = WorkingCalendar(closing=time(17, 30))
    result = cal.deadline(DeadlineRequest(opened_at=at(20, 10), working_days=1))
    assert result.at == at(23, 17, 30)
    assert "17:30" in result.rule
    on_date = cal.deadline(
        DeadlineRequest(opened_at=at(20, 10), working_days=1, on_date=date(2026, 12, 31))
    )
    assert on_date.at == datetime(2026, 12, 31, 17, 30, tzinfo=CST)


def test_rule_text_explains_the_count() -> None:
    result = WorkingCalendar().deadline(DeadlineRequest(opened_at=at(20, 10), working_days=3))
    assert result.rule.startswith("3 working days")
    assert "2026-11-20 10:00" in result.rule
    assert "18:00" in result.rule
    assert "Asia/Shanghai" in result.rule
    assert result.fallback is False


def test_rule_shows_the_local_opening_time() -> None:
    opened = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    rule = WorkingCalendar().deadline(DeadlineRequest(opened_at=opened, working_days=1)).rule
    assert "2026-11-21 01:00" in rule


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValidationError):
        DeadlineRequest(opened_at=at(20, 10), working_days=-1)


async def test_the_activity_answers_like_the_calendar() -> None:
    from activities.calendar import CalendarActivities

    activities = CalendarActivities(WorkingCalendar())
    result = await activities.working_deadline(
        DeadlineRequest(opened_at=at(20, 10), working_days=1)
    )
    assert result.at == at(23, 18)
