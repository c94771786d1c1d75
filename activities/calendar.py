"""Working-day deadlines. This release counts Monday to Friday; China's calendar comes next."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity

from workflows import activity_names
from workflows.contracts import Deadline, DeadlineRequest


def is_working_day(day: date) -> bool:
    return day.weekday() < 5


def nth_working_day_after(start: date, n: int) -> date:
    day = start
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


class WorkingCalendar:
    """A window of N working days closes at the office's closing time on the N-th working
    day after the day it opens (the day of opening does not count)."""

    def __init__(self, tz: str = "Asia/Shanghai", closing: time = time(18, 0)) -> None:
        self.tz = ZoneInfo(tz)
        self.closing = closing

    def deadline(self, req: DeadlineRequest) -> Deadline:
        if req.on_date is not None:
            at = datetime.combine(req.on_date, self.closing, self.tz)
            return Deadline(at=at, rule=f"due date {req.on_date} at {self.closing:%H:%M}")
        opened = req.opened_at.astimezone(self.tz)
        day = nth_working_day_after(opened.date(), req.working_days)
        at = datetime.combine(day, self.closing, self.tz)
        rule = (
            f"{req.working_days} working days (Mon–Fri) after {opened:%Y-%m-%d %H:%M}, "
            f"closing {self.closing:%H:%M} {self.tz.key}"
        )
        return Deadline(at=at, rule=rule, fallback=False)


class CalendarActivities:
    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar

    @activity.defn(name=activity_names.WORKING_DEADLINE)
    async def working_deadline(self, req: DeadlineRequest) -> Deadline:
        return self.calendar.deadline(req)
