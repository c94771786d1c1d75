"""Read a calendar file: CSV rows `date,kind[,name]`, or the State Council's yearly list
typed in as YAML. Every row is checked; one bad row refuses the whole file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from workflows.errors import DubanError

KINDS = {"workday": "workday", "holiday": "holiday", "上班": "workday", "休息": "holiday"}


@dataclass(frozen=True)
class CalendarRow:
    day: date
    kind: str
    name: str
    line: int


def _day(text: Any, where: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise DubanError(f"{where}: {str(text).strip()!r} is not a date (YYYY-MM-DD)") from None


def _kind(text: Any, where: str) -> str:
    kind = KINDS.get(str(text).strip().lower())
    if kind is None:
        raise DubanError(f"{where}: kind {str(text).strip()!r}: use workday or holiday")
    return kind


def _csv_rows(path: Path, text: str) -> list[CalendarRow]:
    rows = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not "".join(fields).strip() or fields[0].strip().startswith("#"):
            continue
        if number == 1 and fields[0].strip().lower() == "date":
            continue  # a header row
        where = f"{path}:{number}"
        if len(fields) < 2 or len(fields) > 3:
            raise DubanError(f"{where}: write date,kind[,name]")
        name = fields[2].strip() if len(fields) == 3 else ""
        rows.append(CalendarRow(_day(fields[0], where), _kind(fields[1], where), name, number))
    return rows


def _yaml_rows(path: Path, text: str) -> list[CalendarRow]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise DubanError(f"{path}: not valid YAML: {err}".splitlines()[0]) from err
    if not isinstance(data, dict) or not ({"holidays", "workdays"} & data.keys()):
        raise DubanError(f"{path}: give `holidays:` and/or `workdays:` lists")
    rows: list[CalendarRow] = []
    for n, item in enumerate(data.get("holidays") or [], start=1):
        where = f"{path}: holidays[{n}]"
        if not isinstance(item, dict) or "from" not in item:
            raise DubanError(f"{where}: write {{name: 春节, from: YYYY-MM-DD, to: YYYY-MM-DD}}")
        first = _day(item["from"], where)
        last = _day(item.get("to", first), where)
        if last < first or (last - first).days > 31:
            raise DubanError(f"{where}: {first} to {last} is not a holiday period")
        day = first
        while day <= last:
            rows.append(CalendarRow(day, "holiday", str(item.get("name", "")), n))
            day += timedelta(days=1)
    for n, item in enumerate(data.get("workdays") or [], start=1):
        where = f"{path}: workdays[{n}]"
        if isinstance(item, dict):
            rows.append(
                CalendarRow(_day(item.get("date"), where), "workday", str(item.get("name", "")), n)
            )
        else:
            rows.append(CalendarRow(_day(item, where), "workday", "调休上班", n))
    return rows


def read_calendar(path: Path) -> list[CalendarRow]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DubanError(f"{path}: cannot read the calendar file: {err}") from err
    rows = _yaml_rows(path, text) if path.suffix in (".yaml", ".yml") else _csv_rows(path, text)
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
