"""The ledger spreadsheet (starter.ledgerfile) and the checks of its rows (starter.assign):
headers, cells, encodings, bounds, and each refusal in Chinese with its line."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from starter import assign, ledgerfile
from starter.directoryfile import read_directory
from tests.unit.test_directory import EXAMPLE
from workflows.errors import DubanError

HEADER = "事项,交办依据,交办单位,牵头单位,协办单位,工作标准,完成时限,紧急程度,备注"
ROW = "完善协调机制,纪要〔2026〕12号,区政府办公室,区司法局,{co},形成办法,{due},{urgency},"
TODAY = date(2026, 11, 23)


def csv_file(tmp_path: Path, *rows: str, encoding: str = "utf-8", header: str = HEADER) -> Path:
    path = tmp_path / "ledger.csv"
    path.write_bytes("\n".join([header, *rows]).encode(encoding))
    return path


def row(co: str = "区财政局", due: str = "2027-03-31", urgency: str = "重要") -> str:
    return ROW.format(co=co, due=due, urgency=urgency)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_in_each_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    path = csv_file(
        tmp_path, row(co="区财政局、区人社局"), "", row(due="2027/1/5"), encoding=encoding
    )
    ledger = ledgerfile.read(path)
    assert [r.line for r in ledger.rows] == [2, 4]  # the blank line 3 is skipped, lines kept
    first, second = ledger.rows
    assert first.fields["co_units"] == ["区财政局", "区人社局"]
    assert first.fields["due"] == date(2027, 3, 31) and first.fields["urgency"] == "important"
    assert second.fields["due"] == date(2027, 1, 5)
    assert ledger.unread == ["备注"]


@pytest.mark.parametrize(
    ("due", "urgency", "problems"),
    [
        ("2027年3月31日", "紧急", {}),
        ("下月底", "一般", {"due": "「下月底」不是日期（如 2026-12-31）"}),
        ("2027-02-30", "一般", {"due": "「2027-02-30」不是日期（如 2026-12-31）"}),
        ("", "特急", {"urgency": "「特急」应为一般、重要或紧急"}),
    ],
)
def test_cells_a_person_types(
    tmp_path: Path, due: str, urgency: str, problems: dict[str, str]
) -> None:
    [read] = ledgerfile.read(csv_file(tmp_path, row(due=due, urgency=urgency))).rows
    assert read.problems == problems


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("事项,交办依据,交办单位,协办单位,工作标准", "ledger.csv:1: 缺少表头「牵头单位」"),
        (
            "事项,督办事项,交办依据,交办单位,牵头单位,工作标准",
            "ledger.csv:1: 表头「事项」与「督办事项」重复",
        ),
    ],
)
def test_headers(tmp_path: Path, header: str, said: str) -> None:
    with pytest.raises(DubanError) as err:
        ledgerfile.read(csv_file(tmp_path, "a,b,c,d,e,f", header=header))
    assert str(err.value).endswith(said)


def test_what_is_not_a_ledger(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook")
    with pytest.raises(DubanError, match="不是有效的 xlsx 文件"):
        ledgerfile.read(fake)
    with pytest.raises(DubanError, match="台账应为 xlsx 或 CSV 文件"):
        ledgerfile.read(tmp_path / "ledger.txt")
    with pytest.raises(DubanError, match="只有表头"):
        ledgerfile.read(csv_file(tmp_path))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (ledgerfile.MAX_INFLATED + 1))
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(DubanError, match="解压后超过 64 MiB"):
        ledgerfile.read(bomb)
    with pytest.raises(DubanError, match="control character"):
        ledgerfile.read(csv_file(tmp_path, row(co="区财政局\x1b[31m")))


def test_an_xlsx_reads_dates_and_numbers_as_cells(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(
        ["事项", 12, "区政府办公室", "区司法局", None, "标准", date(2027, 1, 5), None]
    )
    book.save(tmp_path / "ledger.xlsx")
    [read] = ledgerfile.read(tmp_path / "ledger.xlsx").rows
    assert read.fields["source"] == "12" and read.fields["co_units"] == []
    assert read.fields["due"] == date(2027, 1, 5) and read.fields["urgency"] == "normal"


def test_rows_are_checked_against_the_directory_and_the_rules(tmp_path: Path) -> None:
    directory = read_directory(EXAMPLE)
    path = csv_file(
        tmp_path,
        row(),
        row(co="区水务局"),
        row(co="区司法局"),
        row(due="2026-11-20"),
        ROW.format(co="", due="", urgency="").replace("完善协调机制", ""),
    )
    rows = assign.check_ledger(ledgerfile.read(path), path.read_bytes(), directory, TODAY)
    assert [r.refusal for r in rows] == [
        "",
        "协办单位：「区水务局」不是人员名录中的单位",
        "协办单位：牵头单位不能同时是协办单位",
        "完成时限：2026-11-20 已过（今天是 2026-11-23）",
        "事项：必须填写",
    ]
    assert rows[0].spec is not None and rows[0].spec.id == rows[0].fields["id"]
    assert assign.refused(rows) == rows[1:]
    # The same file gives the same ids; another file others.
    again = assign.check_ledger(ledgerfile.read(path), path.read_bytes(), directory, TODAY)
    assert [r.fields["id"] for r in again] == [r.fields["id"] for r in rows]
    other = assign.check_ledger(ledgerfile.read(path), b"other", directory, TODAY)
    assert other[0].fields["id"] != rows[0].fields["id"]


def test_an_id_given_twice_is_refused_on_its_second_row(tmp_path: Path) -> None:
    directory = read_directory(EXAMPLE)
    path = csv_file(tmp_path, "T-1," + row(), "T-1," + row(), header="编号," + HEADER)
    rows = assign.check_ledger(ledgerfile.read(path), path.read_bytes(), directory, TODAY)
    assert [r.refusal for r in rows] == ["", "编号：与第 2 行的编号相同"]
