"""Working days as offices count them: China's statutory holidays and make-up working days
(chinesecalendar), overridden day by day by the calendar table operators maintain, and
Monday to Friday, flagged, for a year nobody has published yet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import asyncpg
import chinese_calendar
from temporalio import activity

from workflows import activity_names, durations
from workflows.contracts import CalendarYear, Deadline, DeadlineRequest, MarginRequest
from workflows.core import workdays
from workflows.core.workdays import FALLBACK_NOTE, Day, Hours, plain

_CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@dataclass(frozen=True)
class Override:
    kind: str  # workday | holiday
    name: str


@dataclass(frozen=True)
class Overrides:
    """The operators' calendar table: days set by hand, and the years it covers. A year in
    the table counts as published: its unlisted days are plain weekdays and weekends."""

    days: Mapping[date, Override] = field(default_factory=dict)
    years: frozenset[int] = frozenset()


NONE = Overrides()


def library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def classify(day: date, overrides: Overrides = NONE) -> Day:
    if day in overrides.days:
        o = overrides.days[day]
        return Day(o.kind == "workday", o.name or o.kind, "table")
    if day.year in overrides.years:
        return plain(day, "table")
    if library_knows(day.year):
        holiday, name = chinese_calendar.get_holiday_detail(day)
        if not holiday and day.weekday() >= 5:
            return Day(True, "调休上班", "chinesecalendar")
        if holiday:
            why = _CHINESE_NAMES.get(name, name) if name else "weekend"
            return Day(False, why, "chinesecalendar")
        return Day(True, "weekday", "chinesecalendar")
    return plain(day, "fallback")


class WorkingCalendar:
    """A window of N working days closes at the office's closing time on the N-th working
    day after the day it opens (the day of opening does not count). The counting is
    workflows/core/workdays.py's, over the library and the operators' table."""

    def __init__(
        self,
        tz: str = "Asia/Shanghai",
        closing: time = time(18, 0),
        opening: time = time(9, 0),
    ) -> None:
        self.hours = Hours(tz, closing, opening)
        self.tz = self.hours.zone
        self.closing = closing
        self.opening = opening

    def deadline(self, req: DeadlineRequest, overrides: Overrides = NONE) -> Deadline:
        return workdays.deadline(req, self.hours, lambda d: classify(d, overrides))

    def margin_start(self, req: MarginRequest, overrides: Overrides = NONE) -> datetime:
        """The close of the working day `margin` working days before the deadline's day."""
        return workdays.margin_start(req, self.hours, lambda d: classify(d, overrides))

    def working_hours_from(self, at: datetime, overrides: Overrides = NONE) -> datetime:
        """`at` itself within working hours, else the next working morning."""
        return workdays.working_hours_from(at, self.hours, lambda d: classify(d, overrides))

    def year(self, year: int, overrides: Overrides = NONE) -> CalendarYear:
        """The year as a workflow holds it (release 5 on)."""
        return workdays.year_of(lambda d: classify(d, overrides), year, self.hours)


async def load_overrides(pool: asyncpg.Pool | None, start: date, end: date) -> Overrides:
    if pool is None:
        return NONE
    rows = await pool.fetch(
        "SELECT day, kind, name FROM calendar_days WHERE day BETWEEN $1 AND $2", start, end
    )
    years = await pool.fetch(
        "SELECT DISTINCT extract(year FROM day)::int AS year FROM calendar_days "
        "WHERE day BETWEEN $1 AND $2",
        date(start.year, 1, 1),
        date(end.year, 12, 31),
    )
    return Overrides(
        {r["day"]: Override(r["kind"], r["name"]) for r in rows},
        frozenset(r["year"] for r in years),
    )


YEARS_KEPT = 16  # years worked out and kept by the year activity, each a few kilobytes


class CalendarActivities:
    def __init__(self, calendar: WorkingCalendar, pool: asyncpg.Pool | None = None) -> None:
        self.calendar = calendar
        self.pool = pool
        self._years: dict[tuple[int, bool, frozenset[tuple[date, Override]]], CalendarYear] = {}

    async def _overrides(self, around: datetime | date, days: int) -> Overrides:
        start = around.date() if isinstance(around, datetime) else around
        # Long enough for any window: N working days never span more than 3N+30 days.
        return await load_overrides(
            self.pool, start - timedelta(days=3 * days + 30), start + timedelta(days=3 * days + 30)
        )

    @activity.defn(name=activity_names.WORKING_DEADLINE)
    async def working_deadline(self, req: DeadlineRequest) -> Deadline:
        around = req.on_date or req.opened_at
        return self.calendar.deadline(req, await self._overrides(around, req.working_days))

    @activity.defn(name=activity_names.MARGIN_START)
    async def margin_start(self, req: MarginRequest) -> datetime:
        days = durations.working_days(req.margin) or 0
        return self.calendar.margin_start(req, await self._overrides(req.deadline, days))

    @activity.defn(name=activity_names.WORKING_YEAR)
    async def working_year(self, year: int) -> CalendarYear:
        """A whole year for the workflow to count in itself, once a year a run. Classifying
        365 days takes some 20 ms, so a year is worked out once per state of its rows in the
        operators' table (read every time: a change is seen at once)."""
        overrides = await load_overrides(self.pool, date(year, 1, 1), date(year, 12, 31))
        key = (year, year in overrides.years, frozenset(overrides.days.items()))
        held = self._years.get(key)
        if held is None:
            if len(self._years) >= YEARS_KEPT:
                self._years.clear()
            held = self._years[key] = self.calendar.year(year, overrides)
        return held

    @activity.defn(name=activity_names.WORKING_HOURS_FROM)
    async def working_hours_from(self, at: datetime) -> datetime:
        return self.calendar.working_hours_from(at, await self._overrides(at, 10))


__all__ = [
    "FALLBACK_NOTE",
    "NONE",
    "CalendarActivities",
    "Day",
    "Override",
    "Overrides",
    "WorkingCalendar",
    "classify",
    "library_knows",
    "load_overrides",
]
