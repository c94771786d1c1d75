"""The monthly written report per unit, as CSV and as an Excel workbook."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from openpyxl import load_workbook

from activities.report import monthly_rows, to_csv, to_xlsx
from tests.integration.conftest import seed_task
from workflows.contracts import Stage


async def test_a_unit_s_month_from_the_ledger(pool: asyncpg.Pool) -> None:
    unit = f"区审计局-{uuid.uuid4().hex[:4]}"
    now = datetime.now(UTC)
    kinds = ("assigned", "deadline_set", "missed", "escalated", "received", "reported_plan")
    task_id = await seed_task(
        pool, unit, Stage.PLANNED, kinds=kinds, light="yellow", title="审计整改"
    )

    [row] = await monthly_rows(pool, unit, now.date())
    assert (row["task"], row["misses"], row["escalations"], row["reports"]) == (task_id, 1, 1, 1)
    assert await monthly_rows(pool, unit, (now - timedelta(days=62)).date()) == []

    table = list(csv.reader(io.StringIO(to_csv([row]).decode("utf-8-sig"))))
    assert table[0][:3] == ["任务编号", "任务名称", "阶段"] and table[1][:4] == [
        task_id,
        "审计整改",
        "planned",
        "yellow",
    ]
    book = load_workbook(io.BytesIO(to_xlsx([row], unit, now.date())))
    sheet = book.active
    assert sheet is not None
    assert sheet["A1"].value.startswith(unit) and sheet["A3"].value == task_id
    assert sheet["F3"].value == 1 and sheet["I3"].value is not None
