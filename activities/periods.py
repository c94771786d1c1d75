"""The periods a board and a report count over: a month, a quarter or a year, in the
office's calendar (Asia/Shanghai), written `2026-11`, `2026-Q4` or `2026`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from workflows.windows import OFFICE_TZ

Kind = Literal["month", "quarter", "year"]
KINDS: tuple[Kind, ...] = ("month", "quarter", "year")
KIND_LABELS = {"month": "月度", "quarter": "季度", "year": "年度"}
_QUARTERS = "一二三四"
_PATTERN = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|[Qq]([1-4])))?$")


class PeriodError(ValueError):
    """A period written wrong: the message says how to write it."""


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: date  # the first day
    end: date  # the day after the last

    @staticmethod
    def parse(text: str) -> Period:
        """`2026-11` a month, `2026-Q4` a quarter, `2026` a year."""
        found = _PATTERN.match(text.strip())
        if not found or not 2000 <= int(found[1]) <= 2099:
            raise PeriodError(f"period {text!r}: write 2026-11 (month), 2026-Q4 or 2026")
        year = int(found[1])
        if found[2]:
            return Period.month(year, int(found[2]))
        if found[3]:
            return Period.quarter(year, int(found[3]))
        return Period("year", date(year, 1, 1), date(year + 1, 1, 1))

    @staticmethod
    def month(year: int, month: int) -> Period:
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return Period("month", date(year, month, 1), end)

    @staticmethod
    def quarter(year: int, quarter: int) -> Period:
        first = 3 * (quarter - 1) + 1
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, first + 3, 1)
        return Period("quarter", date(year, first, 1), end)

    @staticmethod
    def containing(day: date, kind: Kind) -> Period:
        if kind == "month":
            return Period.month(day.year, day.month)
        if kind == "quarter":
            return Period.quarter(day.year, (day.month - 1) // 3 + 1)
        return Period("year", date(day.year, 1, 1), date(day.year + 1, 1, 1))

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年第{_QUARTERS[(self.start.month - 1) // 3]}季度"
        return f"{self.start.year}年"

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.start, time(0), OFFICE_TZ)

    @property
    def ends_at(self) -> datetime:
        return datetime.combine(self.end, time(0), OFFICE_TZ)

    def previous(self) -> Period:
        before = date.fromordinal(self.start.toordinal() - 1)
        return Period.containing(before, self.kind)

    def following(self) -> Period:
        return Period.containing(self.end, self.kind)
