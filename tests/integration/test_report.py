"""The monthly written report per unit, as CSV and as an Excel workbook."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta

import asyncpg
import pytest
from openpyxl import load_workbook

from activities.report import month_bounds, monthly_rows, to_csv, to_xlsx
from tests.integration.conftest import seed_task
from workflows.contracts import Stage
from workflows.windows import OFFICE_TZ


async def test_a_unit_s_month_from_the_ledger(pool: asyncpg.Pool) -> None:
    unit = f"区审计局-{uuid.uuid4().hex[:12]}"  # the session shares one database
    now = datetime.now(OFFICE_TZ)  # the office's month, whatever the host's zone
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


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Shanghai"])
async def test_the_month_is_the_office_s_in_beijing_time(
    pool: asyncpg.Pool, pg_url: str, zone: str
) -> None:
    """A miss at 01:00 on 1 November in Beijing (17:00 on 31 October in UTC) is November's,
    whatever zone the database's sessions run in; one at 23:00 on 31 October is October's."""
    unit = f"区审计局-{uuid.uuid4().hex[:12]}"  # the session shares one database
    task_id = await seed_task(pool, unit, Stage.RECEIVED, kinds=("assigned", "missed", "missed"))
    created = datetime(2026, 10, 20, 9, 0, tzinfo=OFFICE_TZ)
    await pool.execute("UPDATE tasks SET created_at = $2 WHERE id = $1", task_id, created)
    late_october = datetime(2026, 10, 31, 23, 0, tzinfo=OFFICE_TZ)
    early_november = datetime(2026, 11, 1, 1, 0, tzinfo=OFFICE_TZ)
    for seq, at in ((2, late_october), (3, early_november)):
        await pool.execute(
            "UPDATE task_events SET at = $3 WHERE task_id = $1 AND seq = $2", task_id, seq, at
        )
    settings = {"timezone": zone}
    async with asyncpg.create_pool(
        pg_url, min_size=1, max_size=1, server_settings=settings
    ) as away:
        for month, misses in ((date(2026, 10, 1), [1]), (date(2026, 11, 1), [1])):
            assert [r["misses"] for r in await monthly_rows(away, unit, month)] == misses
        assert await monthly_rows(away, unit, date(2026, 9, 1)) == []  # not yet assigned


def test_a_month_s_bounds_run_from_beijing_midnight_to_the_next_month_s() -> None:
    assert month_bounds(date(2026, 11, 17)) == (
        datetime(2026, 11, 1, tzinfo=OFFICE_TZ),
        datetime(2026, 12, 1, tzinfo=OFFICE_TZ),
    )
    assert month_bounds(date(2026, 12, 31))[1] == datetime(2027, 1, 1, tzinfo=OFFICE_TZ)
