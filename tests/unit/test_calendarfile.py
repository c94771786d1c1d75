"""Calendar files: CSV rows or the State Council's yearly list, refused whole on a bad row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from starter.calendarfile import read_calendar
from workflows.errors import DubanError

YEARLY = """
year: 2027
holidays:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
  - {name: 春节, from: 2027-02-06, to: 2027-02-13}
workdays:
  - {date: 2027-02-14, name: 春节调休}
  - 2027-02-20
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_yearly_list_expands_holiday_periods(tmp_path: Path) -> None:
    rows = read_calendar(write(tmp_path, "2027.yaml", YEARLY))
    days = {r.day: (r.kind, r.name) for r in rows}
    assert days[date(2027, 1, 2)] == ("holiday", "元旦")
    assert days[date(2027, 2, 13)] == ("holiday", "春节")
    assert days[date(2027, 2, 14)] == ("workday", "春节调休")
    assert days[date(2027, 2, 20)] == ("workday", "调休上班")
    assert len(rows) == 3 + 8 + 2


def test_csv_with_a_header_comments_and_chinese_kinds(tmp_path: Path) -> None:
    text = "date,kind,name\n# revision\n2027-05-01,holiday,劳动节\n2027-05-09,上班\n"
    rows = read_calendar(write(tmp_path, "rev.csv", text))
    assert [(r.day, r.kind) for r in rows] == [
        (date(2027, 5, 1), "holiday"),
        (date(2027, 5, 9), "workday"),
    ]


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("a.csv", "2027-02-29,holiday\n", "rev:1? not a date"),
        ("a.csv", "2027-01-01,holiday\n2027-01-01,holiday\n", "listed twice"),
        (
            "a.yaml",
            "holidays:\n  - {name: x, from: 2027-01-05, to: 2027-01-01}\n",
            "not a holiday period",
        ),
        (
            "a.yaml",
            "holidays:\n  - {name: 元旦, from: 2027-01-01}\nworkdays: [2027-01-01]\n",
            "listed twice",
        ),
        ("a.yaml", "year: 2027\n", "give `holidays:`"),
        ("a.csv", "", "no calendar rows"),
    ],
)
def test_bad_files_are_refused_in_one_line(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    with pytest.raises(DubanError) as info:
        read_calendar(write(tmp_path, name, text))
    message = str(info.value)
    assert reason.split("? ")[-1] in message and "\n" not in message
