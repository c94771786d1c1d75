"""The monthly written report per unit (S1 第八条: weekly by SMS, monthly in writing), from
the ledger: every task the unit leads, how it stands, and what happened that month.

Every text cell is inert whatever the ledger holds: one that a spreadsheet would take for a
formula (it begins with = + - @, a tab or a carriage return) gets a leading single quote
(OWASP, "CSV Injection"), and control characters, which a workbook cannot hold (openpyxl's
IllegalCharacterError: an ANSI escape in a title recorded before they were refused), go."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import asyncpg

from workflows.windows import OFFICE_TZ

COLUMNS = [
    ("task", "任务编号"),
    ("title", "任务名称"),
    ("stage", "阶段"),
    ("light", "灯"),
    ("escalation_level", "当前升级层级"),
    ("misses", "本月逾期次数"),
    ("escalations", "本月升级次数"),
    ("reports", "本月报告次数"),
    ("next_deadline", "下一时限"),
]

_QUERY = """
SELECT t.id AS task, t.title, t.stage, t.light, t.escalation_level, t.next_deadline,
       count(*) FILTER (WHERE e.kind = 'missed') AS misses,
       count(*) FILTER (WHERE e.kind IN ('escalated', 'reminded')) AS escalations,
       count(*) FILTER (WHERE e.kind LIKE 'reported_%') AS reports
FROM tasks t
LEFT JOIN task_events e
  ON e.task_id = t.id AND e.at >= $2 AND e.at < $3
WHERE t.lead_unit = $1 AND t.created_at < $3
GROUP BY t.id
ORDER BY t.id
"""


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The office's month, in Beijing time: what happened at 01:00 on the 1st belongs to that
    month wherever the database's session zone is (a `$2::date` bound read the month in the
    zone PostgreSQL was installed with, eight hours off on a UTC host)."""
    start = datetime(month.year, month.month, 1, tzinfo=OFFICE_TZ)
    later = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, later


async def monthly_rows(pool: asyncpg.Pool, unit: str, month: date) -> list[dict[str, object]]:
    rows = await pool.fetch(_QUERY, unit, *month_bounds(month))
    return [dict(r) for r in rows]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What no cell of a report keeps: C0 controls but tab and line ends (the ones a workbook
# refuses, openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE), DEL and C1, bidirectional overrides.
_UNKEPT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def cell(value: object) -> object:
    """A value as a report's cell may hold it: text without control characters, and never
    read as a formula; numbers and dates as they are."""
    if not isinstance(value, str):
        return value
    text = _UNKEPT.sub("", value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow(["" if row[key] is None else cell(row[key]) for key, _ in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode()  # a BOM, so Excel opens the Chinese right


def to_xlsx(rows: list[dict[str, object]], unit: str, month: date) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{month:%Y-%m}"
    sheet.append([cell(f"{unit} {month:%Y年%m月} 督办任务执行情况")])
    sheet.append([label for _, label in COLUMNS])
    for row in rows:
        values = [row[key] for key, _ in COLUMNS]
        sheet.append([cell(_plain(v)) for v in values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _plain(value: object) -> object:
    """Excel keeps no time zones: datetimes go in at office time."""
    if isinstance(value, datetime):
        return value.astimezone(OFFICE_TZ).replace(tzinfo=None)
    return value
