"""The quarterly and annual assessment as `duban report quarterly|annual` writes it from the
ledger, read back with openpyxl: each unit's figures, the leaders' late answers, every task
closed, a sheet per quarter in the annual one, and a title that would be a formula kept as
text. A period written wrong is one line and no file."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import date
from pathlib import Path

import asyncpg
from openpyxl import load_workbook

from activities.assessment import UNIT_COLUMNS
from tests.e2e.stack import DUBAN
from tests.integration.ledger_kit import Story, record
from workflows.contracts import Stage
from workflows.names import EventKind as K


def duban(pg_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUBAN_DATABASE_URL": pg_url}
    done = subprocess.run(
        [DUBAN, "report", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr + done.stdout
    return done


async def test_quarterly_and_annual_workbooks(
    pool: asyncpg.Pool, pg_url: str, tmp_path: Path
) -> None:
    office = f"区政府办公室-{uuid.uuid4().hex[:6]}"
    lead = "区司法局"
    late = (
        Story(lead, office, title='=HYPERLINK("http://x")')
        .then("2026-11-02 09:30", K.DEADLINE_SET, lead, deadline="2026-11-13 18:00")
        .then("2026-11-13 18:00", K.MISSED, lead)
        .then("2026-11-13 18:00", K.ESCALATED, lead, level=1, deadline="2026-11-16 18:00")
        .then("2026-11-18 10:00", K.DIFFICULTY_REPORTED, lead)
        .matter("2026-11-18 10:00", K.MATTER_OPENED, "difficulty", office, 0, "2026-11-23 18:00")
        .then("2026-11-20 10:00", K.DIFFICULTY_ANSWERED, office, detail="继续执行")
        .then("2026-11-20 15:00", K.REPORTED_COMPLETION, lead)
        .then("2026-11-20 15:00", K.DEADLINE_SET, office, deadline="2026-11-27 18:00")
        .then("2026-11-20 16:00", K.VERIFIED, office)
    )
    late_id = await record(pool, late, Stage.CLOSED)
    on_time = (
        Story(lead, office, due=date(2026, 11, 30))
        .then("2026-11-02 09:30", K.DEADLINE_SET, lead, deadline="2026-11-30 18:00")
        .then("2026-11-10 10:00", K.REPORTED_COMPLETION, lead)
        .then("2026-11-11 10:00", K.VERIFIED, office)
    )
    await record(pool, on_time, Stage.CLOSED)

    out = tmp_path / "q4.xlsx"
    done = duban(
        pg_url, "quarterly", "--quarter", "2026-Q4", "--assigning-unit", office, "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "2026年第四季度" in done.stdout
    book = load_workbook(out)
    assert book.sheetnames == ["按单位", "领导答复", "办结明细", "指标说明"]
    units = book["按单位"]
    assert units["A1"].value == "督查督办季度考核统计（2026年第四季度）"
    assert [c.value for c in units[3]] == list(UNIT_COLUMNS)
    rows = {r[0]: r for r in units.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {lead, office}
    head = dict(zip(UNIT_COLUMNS, rows[lead], strict=True))
    assert (head["办结数"], head["按期办结数"], head["按期办结率"]) == (2, 1, 0.5)
    assert (head["逾期次数"], head["升级至第1级"], head["执行困难"]) == (1, 1, 1)
    assert (head["本单位逾期工作日"], head["待他方答复工作日"]) == (3, 2)
    assert dict(zip(UNIT_COLUMNS, rows[office], strict=True))["答复逾期工作日"] == 2
    closed = {r[0]: r for r in book["办结明细"].iter_rows(min_row=2, values_only=True)}
    assert closed[late_id][1] == '\'=HYPERLINK("http://x")'  # text, never a formula
    assert closed[late_id][-1] == "否"

    year = tmp_path / "y.xlsx"
    done = duban(pg_url, "annual", "--year", "2026", "--assigning-unit", office, "--out", str(year))
    assert done.returncode == 0, done.stderr
    annual = load_workbook(year)
    assert annual["按单位"]["A1"].value == "督查督办年度考核统计（2026年）"
    assert {"第一季度", "第二季度", "第三季度", "第四季度"} <= set(annual.sheetnames)
    q3 = [r[0] for r in annual["第三季度"].iter_rows(min_row=4, values_only=True)]
    q4 = [r[0] for r in annual["第四季度"].iter_rows(min_row=4, values_only=True)]
    assert q3 == [] and set(q4) == {lead, office}


def test_a_period_written_wrong_is_one_line(pg_url: str, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    for args in (
        ("quarterly", "--quarter", "2026-Q5", "--out", str(out)),
        ("quarterly", "--quarter", "2026", "--out", str(out)),
        ("annual", "--year", "2026-11", "--out", str(out)),
    ):
        done = duban(pg_url, *args)
        assert done.returncode != 0
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not out.exists()
