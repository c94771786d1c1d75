"""Read a calendar file: CSV rows `date,kind[,name]` (UTF-8, with or without a BOM, or
GB18030, as spreadsheets save them), or the State Council's yearly list typed in as YAML.
Every row is checked; one bad row refuses the whole file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starter.located import at
from starter.safefile import CALENDAR, csv_rows, load_yaml
from workflows import limits
from workflows.errors import DubanError

KINDS = {"workday": "workday", "holiday": "holiday", "上班": "workday", "休息": "holiday"}
HEADERS = ("date", "日期")


@dataclass(frozen=True)
class CalendarRow:
    day: date
    kind: str
    name: str
    line: int


def _day(text: Any, where: str) -> date:
    """A day of the years the calendar counts (workflows.limits: 2004 to 2099)."""
    if isinstance(text, date):
        day = text
    else:
        try:
            day = date.fromisoformat(str(text).strip())
        except ValueError:
            shown = str(text).strip()[:40]
            raise DubanError(f"{where}: {shown!r} is not a date (YYYY-MM-DD)") from None
    problem = limits.date_problem("date", day)
    if problem is not None:
        raise DubanError(f"{where}: {problem}")
    return day


def _name(text: Any, where: str) -> str:
    if not isinstance(text, str | int):
        raise DubanError(f"{where}: the name must be text")
    problem = limits.text_problem("name", str(text).strip(), limits.MAX_NAME)
    if problem is not None:
        raise DubanError(f"{where}: {problem}")
    return str(text).strip()


def _kind(text: Any, where: str) -> str:
    kind = KINDS.get(str(text).strip().lower())
    if kind is None:
        shown = str(text).strip()[:40]
        raise DubanError(f"{where}: kind {shown!r}: use workday or holiday")
    return kind


def _csv_rows(path: Path) -> list[CalendarRow]:
    rows: list[CalendarRow] = []
    for number, fields in csv_rows(path, CALENDAR):
        if not fields or not "".join(fields).strip() or fields[0].strip().startswith("#"):
            continue
        if not rows and fields[0].strip().lower() in HEADERS:
            continue  # a header row
        where = f"{path}:{number}"
        if len(fields) < 2 or len(fields) > 3:
            raise DubanError(f"{where}: write date,kind[,name]")
        name = _name(fields[2], where) if len(fields) == 3 else ""
        rows.append(CalendarRow(_day(fields[0], where), _kind(fields[1], where), name, number))
    return rows


def _yaml_rows(path: Path) -> list[CalendarRow]:
    data = load_yaml(path, CALENDAR)
    if not isinstance(data, dict) or not ({"holidays", "workdays"} & data.keys()):
        raise DubanError(f"{path}: give `holidays:` and/or `workdays:` lists")
    for key in ("holidays", "workdays"):
        if not isinstance(data.get(key) or [], list):
            raise DubanError(at(path, data, f"{key}: give a list", key=key))
    rows: list[CalendarRow] = []
    for n, item in enumerate(data.get("holidays") or [], start=1):
        where = at(path, item, f"holidays[{n}]")
        if not isinstance(item, dict) or "from" not in item:
            raise DubanError(f"{where}: write {{name: 春节, from: YYYY-MM-DD, to: YYYY-MM-DD}}")
        first = _day(item["from"], where)
        last = _day(item.get("to", first), where)
        if last < first or (last - first).days > 31:
            raise DubanError(f"{where}: {first} to {last} is not a holiday period")
        day = first
        while day <= last:
            rows.append(CalendarRow(day, "holiday", _name(item.get("name", ""), where), n))
            day += timedelta(days=1)
    for n, item in enumerate(data.get("workdays") or [], start=1):
        where = at(path, item, f"workdays[{n}]")
        if isinstance(item, dict):
            name = _name(item.get("name", ""), where)
            rows.append(CalendarRow(_day(item.get("date"), where), "workday", name, n))
        else:
            rows.append(CalendarRow(_day(item, where), "workday", "调休上班", n))
    return rows


def read_calendar(path: Path) -> list[CalendarRow]:
    yaml = path.suffix.lower() in (".yaml", ".yml")
    rows = _yaml_rows(path) if yaml else _csv_rows(path)
    if not rows:
        raise DubanError(f"{path}: no calendar rows")
    seen: dict[date, CalendarRow] = {}
    for row in rows:
        if row.day in seen:
            raise DubanError(
                f"{path}:{row.line}: {row.day} is listed twice (first at {seen[row.day].line})"
            )
        seen[row.day] = row
    return rows
