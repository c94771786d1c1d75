"""The quarterly and annual assessment report (S0's closing paragraph: a quarterly
evaluation; S2 §9: the annual assessment) as an Excel workbook: per unit, closed and closed
on time, misses, climbs by level, difficulties and extensions, working days late (the unit's
own apart from the answers it waited for), the leaders' late answers, every task closed,
and what each figure means. Every text cell goes through activities.report.cell, so nothing
the ledger holds is read as a formula."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import datetime, time
from typing import Any

import asyncpg

from activities.accountability import Accountability, UnitRow, accountability
from activities.board import Filters
from activities.periods import KIND_LABELS, Period
from activities.report import cell
from workflows.policy import ROLE_LABELS
from workflows.windows import OFFICE_TZ

LEVELS = (1, 2, 3)
UNIT_COLUMNS = (
    "单位",
    "办结数",
    "按期办结数",
    "按期办结率",
    "逾期次数",
    "升级至第1级",
    "升级至第2级",
    "升级至第3级",
    "执行困难",
    "延期申请",
    "延期获批",
    "本单位逾期工作日",
    "待他方答复工作日",
    "答复逾期工作日",
)
MEANINGS = (
    ("办结数", "本期内经交办单位核实销号的任务数（按牵头单位统计）。"),
    (
        "按期办结率",
        "按期办结数 ÷ 办结数。按期办结：牵头单位报送办结报告的时间不晚于完成时限"
        "（含经批准延期后的时限，当日 18:00 截止）；"
        "未设完成时限的，不晚于该报告所答复时间窗口的截止时间。"
        "核实销号是交办单位的事，按其自身时限另计。",
    ),
    ("逾期次数", "本期内该单位负责的时间窗口到期未反馈的次数（核实窗口计入交办单位）。"),
    ("升级至第N级", "本期内因该单位逾期而升级到督办层级第 N 级的次数。"),
    ("执行困难、延期申请、延期获批", "本期内该单位提出的执行困难、延期申请，及获批的延期。"),
    (
        "本单位逾期工作日",
        "时间窗口自错过的截止时间起、至结束该窗口的反馈为止逾期，按工作日计"
        "（截止当日不计，反馈当日计入；国家法定节假日与调休以国务院安排为准，并以办公室维护的日历表为准）；"
        "其间任务上有执行困难、延期申请或意见分歧等待办公室或领导答复的工作日不计入本单位，"
        "暂停执行期间不计逾期。多项任务同日逾期分别计算。",
    ),
    ("待他方答复工作日", "该单位逾期期间，等待办公室或领导答复的工作日，计入答复方。"),
    (
        "答复逾期工作日",
        "事项（执行困难、延期申请、意见分歧）等待该方答复、且任务因此逾期或事项已过首个答复时限的工作日，"
        "计入当日应答复的一方：办公室（审批单位），或事项升级后的领导。",
    ),
)


def _plain(value: object) -> object:
    """Excel keeps no time zones: datetimes at office time; text made inert."""
    if isinstance(value, datetime):
        return value.astimezone(OFFICE_TZ).replace(tzinfo=None)
    return cell(value)


def unit_values(r: UnitRow) -> list[Any]:
    return [
        r.unit,
        r.closed,
        r.on_time,
        r.on_time_rate,
        r.misses,
        *(r.escalations.get(level, 0) for level in LEVELS),
        r.difficulties,
        r.extensions,
        r.extensions_approved,
        r.own_late_days,
        r.waited_days,
        r.answer_late_days,
    ]


def _units_sheet(sheet: Any, report: Accountability, title: str) -> None:
    from openpyxl.styles import Font

    sheet.append([cell(title)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([cell(f"统计时间：{report.at.astimezone(OFFICE_TZ):%Y-%m-%d %H:%M}（北京时间）")])
    sheet.append([cell(c) for c in UNIT_COLUMNS])
    for c in sheet[3]:
        c.font = Font(bold=True)
    for r in report.units:
        sheet.append([_plain(v) for v in unit_values(r)])
        sheet.cell(row=sheet.max_row, column=4).number_format = "0.0%"
    sheet.column_dimensions["A"].width = 22
    sheet.freeze_panes = "B4"


def to_xlsx(report: Accountability, quarters: list[Accountability] | None = None) -> bytes:
    """The workbook: 按单位, 领导答复, 办结明细, (分季度 for a year), 指标说明."""
    from openpyxl import Workbook

    period = report.period
    book = Workbook()
    units = book.active
    assert units is not None
    units.title = "按单位"
    kind = KIND_LABELS[period.kind]
    _units_sheet(units, report, f"督查督办{kind}考核统计（{period.label}）")

    leaders = book.create_sheet("领导答复")
    leaders.append([cell("领导"), cell("答复逾期工作日")])
    for role, days in sorted(report.leaders.items(), key=lambda x: -x[1]):
        leaders.append([cell(ROLE_LABELS.get(role, role)), days])

    closed = book.create_sheet("办结明细")
    closed.append(
        [cell(c) for c in ("任务编号", "任务名称", "牵头单位", "完成时限", "报送办结时间")]
        + [cell(c) for c in ("窗口截止时间", "核实销号时间", "是否按期")]
    )
    for c in report.closed:
        values = [c["id"], c["title"], c["unit"], c["due"], c["reported_at"]]
        values += [c["window_deadline"], c["closed_at"], "是" if c["on_time"] else "否"]
        closed.append([_plain(v) for v in values])

    for quarter in quarters or []:
        sheet = book.create_sheet(quarter.period.label.removeprefix(f"{period.start.year}年"))
        _units_sheet(sheet, quarter, f"督查督办季度考核统计（{quarter.period.label}）")

    notes = book.create_sheet("指标说明")
    notes.append([cell("指标"), cell("口径")])
    for name, meaning in MEANINGS:
        notes.append([cell(name), cell(meaning)])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(period: Period) -> str:
    return f"duban-{period.kind}-{period.key}.xlsx"


async def workbook(
    pool: asyncpg.Pool, filters: Filters, now: datetime, closing: time = time(18, 0)
) -> bytes:
    """The period's report; a year's also has a sheet per quarter begun by `now`, each
    counted on a connection of its own, side by side."""
    periods = [filters.period]
    if filters.period.kind == "year":
        today = now.astimezone(OFFICE_TZ).date()
        quarters = [Period.quarter(filters.period.start.year, q) for q in range(1, 5)]
        periods += [p for p in quarters if p.start <= today]
    counted = await asyncio.gather(
        *(accountability(pool, replace(filters, period=p), now, closing) for p in periods)
    )
    return to_xlsx(counted[0], list(counted[1:]))
