"""The office's supervision ledger (督办台账) as a spreadsheet: xlsx (openpyxl), or CSV in
UTF-8, UTF-8 with a BOM or GB18030, read through starter.safefile's bounds. One task a
row under a header row; the headers in Chinese (事项、交办依据、交办单位、牵头单位、协办单位、
工作标准、完成时限、紧急程度, and optionally 编号, 督办策略) or as the task file's fields.
Columns it does not know (序号, 备注, 办理情况, ...) are left unread and named.

What comes out is each row's fields with its line, as a task file would give them; the
checking is starter.assign's. An xlsx is a zip: its parts are sized before openpyxl opens
it, so a small file that inflates to gigabytes is refused unread."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from starter import safefile
from workflows.errors import DubanError

LEDGER = safefile.Kind("ledger spreadsheet", 2 * safefile.MiB, 0)
MAX_ROWS = 2000
MAX_COLUMNS = 40
MAX_INFLATED = 64 * safefile.MiB  # an xlsx's parts, unzipped

# header -> the task file's field
HEADERS: dict[str, str] = {
    "编号": "id",
    "任务编号": "id",
    "事项": "title",
    "督办事项": "title",
    "事项名称": "title",
    "交办依据": "source",
    "交办单位": "assigning_unit",
    "牵头单位": "lead_unit",
    "协办单位": "co_units",
    "配合单位": "co_units",
    "工作标准": "standard",
    "工作要求": "standard",
    "完成时限": "due",
    "办结时限": "due",
    "紧急程度": "urgency",
    "督办策略": "policy",
}
HEADERS |= {f: f for f in set(HEADERS.values())}
REQUIRED = ("title", "source", "assigning_unit", "lead_unit", "standard")
# What a field is called where a person reads a refusal.
NAMES = {
    "id": "编号",
    "title": "事项",
    "source": "交办依据",
    "assigning_unit": "交办单位",
    "lead_unit": "牵头单位",
    "co_units": "协办单位",
    "standard": "工作标准",
    "due": "完成时限",
    "urgency": "紧急程度",
    "policy": "督办策略",
}
URGENCIES = {"一般": "normal", "重要": "important", "紧急": "urgent"}
URGENCIES |= {v: v for v in set(URGENCIES.values())}
_SPLIT = re.compile(r"[、,，;；/\s]+")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass
class Row:
    """One task's fields as the spreadsheet gives them, with its line (1 is the header),
    and what was wrong with a cell, by field, before any rule is asked."""

    line: int
    fields: dict[str, Any]
    problems: dict[str, str] = field(default_factory=dict)


@dataclass
class Ledger:
    name: str
    rows: list[Row]
    unread: list[str]  # columns left unread


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _due(value: Any) -> date | str | None:
    """A date, or the text that is not one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    found = _DATE.match(text)
    if found is None:
        return text
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return text


def _row(line: int, header: list[str | None], cells: list[Any]) -> Row | None:
    """The row's fields, or None for a blank row."""
    if not any(_text(c) for c in cells):
        return None
    row = Row(line, {})
    for name, cell in zip(header, cells, strict=False):
        if name is None:
            continue
        if name == "co_units":
            row.fields[name] = [u for u in _SPLIT.split(_text(cell)) if u]
        elif name == "due":
            due = _due(cell)
            if isinstance(due, str):
                row.problems["due"] = f"「{due}」不是日期（如 2026-12-31）"
            else:
                row.fields["due"] = due
        elif name == "urgency":
            said = _text(cell)
            if said and said not in URGENCIES:
                row.problems["urgency"] = f"「{said}」应为一般、重要或紧急"
            else:
                row.fields["urgency"] = URGENCIES.get(said, "normal")
        else:
            row.fields[name] = _text(cell)
    if not row.fields.get("id"):
        row.fields.pop("id", None)
    if not row.fields.get("policy"):
        row.fields.pop("policy", None)
    return row


def _header(where: str, cells: list[Any]) -> tuple[list[str | None], list[str]]:
    names: list[str | None] = []
    unread: list[str] = []
    seen: dict[str, str] = {}
    for cell in cells:
        text = _text(cell)
        name = HEADERS.get(text) or HEADERS.get(text.lower())
        if name is not None and name in seen:
            raise DubanError(f"{where}:1: 表头「{seen[name]}」与「{text}」重复")
        if name is not None:
            seen[name] = text
        elif text:
            unread.append(text)
        names.append(name)
    missing = [NAMES[f] for f in REQUIRED if f not in seen]
    if missing:
        raise DubanError(f"{where}:1: 缺少表头{'、'.join(f'「{m}」' for m in missing)}")
    return names, unread


def _rows(where: str, lines: list[tuple[int, list[Any]]]) -> Ledger:
    if not lines:
        raise DubanError(f"{where}: 表格是空的，没有表头")
    (_, first), *rest = lines
    header, unread = _header(where, first[:MAX_COLUMNS])
    rows = [r for line, cells in rest if (r := _row(line, header, cells)) is not None]
    if not rows:
        raise DubanError(f"{where}: 表格只有表头，没有任务")
    if len(rows) > MAX_ROWS:
        raise DubanError(f"{where}: {len(rows)} 行任务，一次最多导入 {MAX_ROWS} 行")
    return Ledger(where, rows, unread)


def _xlsx(path: Path, data: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(i.file_size for i in archive.infolist())
        if inflated > MAX_INFLATED:
            raise DubanError(f"{path}: 解压后超过 {MAX_INFLATED // safefile.MiB} MiB，不是台账")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise DubanError(f"{path}: 不是有效的 xlsx 文件") from err
    try:
        sheet = book.worksheets[0]
        lines = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                raise DubanError(f"{path}: 超过 {MAX_ROWS} 行任务，一次最多导入 {MAX_ROWS} 行")
            cells = list(values[:MAX_COLUMNS])
            for cell in cells:
                said = safefile.control_in(cell, lines=True) if isinstance(cell, str) else None
                if said is not None:
                    raise DubanError(f"{path}:{number}: {safefile.character_problem(said)}")
            lines.append((number, cells))
    finally:
        book.close()
    return lines


def read(path: Path, name: str | None = None) -> Ledger:
    """The ledger's rows; a file that cannot be one is refused in one line."""
    where = name or str(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        data = safefile.read_bytes(path, LEDGER)
        return _rows(where, _xlsx(Path(where), data))
    if path.suffix.lower() != ".csv":
        raise DubanError(f"{where}: 台账应为 xlsx 或 CSV 文件")
    return _rows(where, [(line, list(cells)) for line, cells in safefile.csv_rows(path, LEDGER)])
