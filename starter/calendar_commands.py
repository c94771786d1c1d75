"""`duban calendar import|show|deadline|replan`: the working-day calendar for operators."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from temporalio.client import Client

from activities.calendar import WorkingCalendar, classify, library_knows
from activities.calendar_store import import_days, year_overrides
from starter.calendarfile import CalendarRow
from workflows.contracts import DeadlineRequest
from workflows.errors import DubanError
from workflows.task import TaskWorkflow


async def import_calendar(pool: asyncpg.Pool, rows: list[CalendarRow]) -> tuple[int, list[int]]:
    """The rows of a calendar file (read_calendar) into the operators' table."""
    count = await import_days(pool, [(r.day, r.kind, r.name) for r in rows])
    return count, sorted({r.day.year for r in rows})


async def replan_open_tasks(client: Client, reason: str) -> int:
    """Tell every open task the calendar changed; each recomputes its pending deadlines."""
    query = "WorkflowType = 'TaskWorkflow' AND ExecutionStatus = 'Running'"
    count = 0
    async for wf in client.list_workflows(query):
        await client.get_workflow_handle(wf.id).signal(TaskWorkflow.calendar_changed, reason)
        count += 1
    return count


async def show_year(pool: asyncpg.Pool, year: int) -> list[str]:
    if not 1900 < year < 2200:
        raise DubanError(f"year {year} is out of range")
    overrides = await year_overrides(pool, year)
    if year in overrides.years:
        source = f"the operators' table ({len(overrides.days)} days) over China's calendar"
    elif library_knows(year):
        source = "China's calendar (chinesecalendar)"
    else:
        source = "NO published calendar: Monday-Friday FALLBACK; deadlines are flagged"
    lines = [f"{year}: {source}"]
    day = date(year, 1, 1)
    while day.year == year:
        d = classify(day, overrides)
        ordinary = d.why in ("weekday", "weekend")
        if not ordinary or (d.source == "table" and day in overrides.days):
            kind = "workday" if d.working else "holiday"
            lines.append(f"  {day} {day:%a}  {kind:<8} {d.why}  ({d.source})")
        day += timedelta(days=1)
    return lines


def parse_opening(text: str, tz: str) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), ZoneInfo(tz))
        at = datetime.fromisoformat(text)
    except ValueError:
        raise DubanError(f"{text!r} is not a date or an ISO datetime") from None
    return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(tz))


async def deadline(
    pool: asyncpg.Pool, calendar: WorkingCalendar, opened: datetime, days: int
) -> dict[str, Any]:
    if not 1 <= days <= 2600:
        raise DubanError(f"{days} working days: give 1 to 2600")
    from activities.calendar import load_overrides

    around = opened.date()
    overrides = await load_overrides(
        pool, around - timedelta(days=31), around + timedelta(days=4 * days + 31)
    )
    result = calendar.deadline(DeadlineRequest(opened_at=opened, working_days=days), overrides)
    return {
        "deadline": result.at.isoformat(),
        "rule": result.rule,
        "fallback": result.fallback,
        "skipped": [{"date": d.isoformat(), "why": why} for d, why in result.skipped],
    }
