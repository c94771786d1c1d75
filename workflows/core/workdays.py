"""Working-day arithmetic, pure: a window of N working days, the start of a warning margin,
the next working hour, each counted over a `Classify` that says what a day is.

One home for both sides of it: the calendar activity (activities/calendar.py) counts over
the library and the operators' table; from release 5 the workflow counts over the years it
holds (`HeldYears`, fetched once a year per run), so opening a window or climbing a rung
asks nothing of the worker (issue 17: the storm's escalations and the sign-offs waited on a
local activity each)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from workflows.contracts import CalendarYear, Deadline, DeadlineRequest, MarginRequest
from workflows.durations import working_days

# How a deadline counted Monday to Friday says so: the year has no published calendar.
FALLBACK_NOTE = "按周一至周五推算（无官方日历）"


@dataclass(frozen=True)
class Day:
    working: bool
    why: str  # e.g. "国庆节", "调休上班", "weekend", "weekday"
    source: str  # "table" | "chinesecalendar" | "fallback"


Classify = Callable[[date], Day]


def plain(day: date, source: str) -> Day:
    """A day as Monday to Friday has it."""
    weekend = day.weekday() >= 5
    return Day(not weekend, "weekend" if weekend else "weekday", source)


@dataclass(frozen=True)
class Hours:
    """The office's clock: its time zone, and when a working day opens and closes."""

    tz: str = "Asia/Shanghai"
    closing: time = time(18, 0)
    opening: time = time(9, 0)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.tz)

    @property
    def zone_label(self) -> str:
        return "北京时间" if self.tz == "Asia/Shanghai" else self.tz

    def at_close(self, day: date) -> datetime:
        return datetime.combine(day, self.closing, self.zone)


@cache
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def deadline(req: DeadlineRequest, hours: Hours, classify: Classify) -> Deadline:
    """N working days from opening close at the closing time of the N-th working day after
    the day it opens (that day does not count); a date closes at its closing time."""
    if req.on_date is not None:
        d = classify(req.on_date)
        return Deadline(
            at=hours.at_close(req.on_date),
            rule=f"{req.on_date} {hours.closing:%H:%M} 截止（{hours.zone_label}）"
            + (f"；日历：{FALLBACK_NOTE}" if d.source == "fallback" else ""),
            fallback=d.source == "fallback",
        )
    opened = req.opened_at.astimezone(hours.zone)
    day, counted, fallback = opened.date(), 0, False
    skipped: list[tuple[date, str]] = []
    while counted < req.working_days:
        day += timedelta(days=1)
        d = classify(day)
        fallback = fallback or d.source == "fallback"
        if d.working:
            counted += 1
        else:
            skipped.append((day, d.why))
    holidays = sorted({why for _, why in skipped if why != "weekend"})
    rule = (
        f"自 {opened:%Y-%m-%d %H:%M} 起 {req.working_days} 个工作日，"
        f"{hours.closing:%H:%M} 截止（{hours.zone_label}）；日历："
        + (FALLBACK_NOTE if fallback else "国家法定工作日")
        + (f"；跳过{'、'.join(holidays)}" if holidays else "")
    )
    return Deadline(at=hours.at_close(day), rule=rule, fallback=fallback, skipped=skipped)


def margin_start(req: MarginRequest, hours: Hours, classify: Classify) -> datetime:
    """The close of the working day `margin` working days before the deadline's day."""
    days = working_days(req.margin) or 0
    day, counted = req.deadline.astimezone(hours.zone).date(), 0
    while counted < days:
        day -= timedelta(days=1)
        if classify(day).working:
            counted += 1
    return min(hours.at_close(day), req.deadline)


def working_hours_from(at: datetime, hours: Hours, classify: Classify) -> datetime:
    """`at` itself within working hours, else the next working morning."""
    local = at.astimezone(hours.zone)
    day = local.date()
    if classify(day).working and hours.opening <= local.time() < hours.closing:
        return at
    if not (classify(day).working and local.time() < hours.opening):
        day += timedelta(days=1)
        while not classify(day).working:
            day += timedelta(days=1)
    return datetime.combine(day, hours.opening, hours.zone)


def year_of(classify: Classify, year: int, hours: Hours) -> CalendarYear:
    """A year as the workflow holds it: its days that Monday to Friday does not say."""
    first = date(year, 1, 1)
    days = [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]
    source = classify(first).source
    unusual = [(d, c.working, c.why) for d in days if (c := classify(d)) != plain(d, c.source)]
    return CalendarYear(
        year=year,
        source=source,
        unusual=unusual,
        tz=hours.tz,
        closing=hours.closing,
        opening=hours.opening,
    )


class YearNotHeld(Exception):
    """The count reached a year the workflow has not fetched yet."""

    def __init__(self, year: int) -> None:
        super().__init__(year)
        self.year = year


class HeldYears:
    """The years a workflow holds, as a Classify; a day of another year raises YearNotHeld.
    The office's hours are those of the worker that answered (each year carries them)."""

    def __init__(self, years: Mapping[int, CalendarYear], this_year: int) -> None:
        if not years:
            raise YearNotHeld(this_year)
        self.years = years
        first = next(iter(years.values()))
        self.hours = Hours(first.tz, first.closing, first.opening)
        self._unusual = {
            y: {d: Day(working, why, held.source) for d, working, why in held.unusual}
            for y, held in years.items()
        }

    def __call__(self, day: date) -> Day:
        held = self.years.get(day.year)
        if held is None:
            raise YearNotHeld(day.year)
        return self._unusual[day.year].get(day) or plain(day, held.source)
