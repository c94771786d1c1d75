"""Working days as offices count them: China's statutory holidays and make-up working days
(chinesecalendar), overridden day by day by the calendar table operators maintain, and
Monday to Friday, flagged, for a year nobody has published yet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import chinese_calendar
from temporalio import activity

from workflows import activity_names, durations
from workflows.contracts import Deadline, DeadlineRequest, MarginRequest

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


# How a deadline counted Monday to Friday says so: the year has no published calendar.
FALLBACK_NOTE = "按周一至周五推算（无官方日历）"


@dataclass(frozen=True)
class Day:
    working: bool
    why: str  # e.g. "国庆节", "调休上班", "weekend", "weekday"
    source: str  # "table" | "chinesecalendar" | "fallback"


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
    weekend = day.weekday() >= 5
    if day.year in overrides.years:
        return Day(not weekend, "weekend" if weekend else "weekday", "table")
    if library_knows(day.year):
        holiday, name = chinese_calendar.get_holiday_detail(day)
        if not holiday and day.weekday() >= 5:
            return Day(True, "调休上班", "chinesecalendar")
        if holiday:
            why = _CHINESE_NAMES.get(name, name) if name else "weekend"
            return Day(False, why, "chinesecalendar")
        return Day(True, "weekday", "chinesecalendar")
    return Day(not weekend, "weekend" if weekend else "weekday", "fallback")


class WorkingCalendar:
    """A window of N working days closes at the office's closing time on the N-th working
    day after the day it opens (the day of opening does not count)."""

    def __init__(
        self,
        tz: str = "Asia/Shanghai",
        closing: time = time(18, 0),
        opening: time = time(9, 0),
    ) -> None:
        self.tz = ZoneInfo(tz)
        self.closing = closing
        self.opening = opening

    @property
    def _zone(self) -> str:
        return "北京时间" if self.tz.key == "Asia/Shanghai" else self.tz.key

    def _at_close(self, day: date) -> datetime:
        return datetime.combine(day, self.closing, self.tz)

    def deadline(self, req: DeadlineRequest, overrides: Overrides = NONE) -> Deadline:
        if req.on_date is not None:
            d = classify(req.on_date, overrides)
            return Deadline(
                at=self._at_close(req.on_date),
                rule=f"{req.on_date} {self.closing:%H:%M} 截止（{self._zone}）"
                + (f"；日历：{FALLBACK_NOTE}" if d.source == "fallback" else ""),
                fallback=d.source == "fallback",
            )
        opened = req.opened_at.astimezone(self.tz)
        day, counted, fallback = opened.date(), 0, False
        skipped: list[tuple[date, str]] = []
        while counted < req.working_days:
            day += timedelta(days=1)
            d = classify(day, overrides)
            fallback = fallback or d.source == "fallback"
            if d.working:
                counted += 1
            else:
                skipped.append((day, d.why))
        holidays = sorted({why for _, why in skipped if why != "weekend"})
        rule = (
            f"自 {opened:%Y-%m-%d %H:%M} 起 {req.working_days} 个工作日，"
            f"{self.closing:%H:%M} 截止（{self._zone}）；日历："
            + (FALLBACK_NOTE if fallback else "国家法定工作日")
            + (f"；跳过{'、'.join(holidays)}" if holidays else "")
        )
        return Deadline(at=self._at_close(day), rule=rule, fallback=fallback, skipped=skipped)

    def margin_start(self, req: MarginRequest, overrides: Overrides = NONE) -> datetime:
        """The close of the working day `margin` working days before the deadline's day."""
        days = durations.working_days(req.margin) or 0
        day, counted = req.deadline.astimezone(self.tz).date(), 0
        while counted < days:
            day -= timedelta(days=1)
            if classify(day, overrides).working:
                counted += 1
        return min(self._at_close(day), req.deadline)

    def working_hours_from(self, at: datetime, overrides: Overrides = NONE) -> datetime:
        """`at` itself within working hours, else the next working morning."""
        local = at.astimezone(self.tz)
        day = local.date()
        if classify(day, overrides).working and self.opening <= local.time() < self.closing:
            return at
        if not (classify(day, overrides).working and local.time() < self.opening):
            day += timedelta(days=1)
            while not classify(day, overrides).working:
                day += timedelta(days=1)
        return datetime.combine(day, self.opening, self.tz)


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


class CalendarActivities:
    def __init__(self, calendar: WorkingCalendar, pool: asyncpg.Pool | None = None) -> None:
        self.calendar = calendar
        self.pool = pool

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

    @activity.defn(name=activity_names.WORKING_HOURS_FROM)
    async def working_hours_from(self, at: datetime) -> datetime:
        return self.calendar.working_hours_from(at, await self._overrides(at, 10))
