"""The monthly report as a spreadsheet opens it: a title the ledger holds that a spreadsheet
would run as a formula stays text (OWASP's rule: a leading single quote), and one holding
an ANSI escape, recorded before such titles were refused, no longer breaks the workbook for
the whole unit. Produced by the real `duban report monthly` and read back."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
from openpyxl import load_workbook

from tests.e2e.stack import DUBAN
from tests.integration.conftest import seed_task
from workflows.contracts import Stage
from workflows.windows import OFFICE_TZ

# What the ledger holds -> what the report's cell says.
TITLES = {
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "+1+1": "'+1+1",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "\x1b[31m红色标题\x1b[0m": "[31m红色标题[0m",
    '\x1b=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
    "完善行政执法协调机制": "完善行政执法协调机制",
}


def report(pg_url: str, unit: str, kind: str, out: Path) -> None:
    env = {**os.environ, "DUBAN_DATABASE_URL": pg_url}
    month = datetime.now(OFFICE_TZ).strftime("%Y-%m")  # the office's month, as the report reads it
    done = subprocess.run(
        [DUBAN, "report", "monthly", unit, "--month", month, "--format", kind, "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout


async def test_formulas_and_control_characters_in_the_ledger_stay_inert(
    pool: asyncpg.Pool, pg_url: str, tmp_path: Path
) -> None:
    unit = f"区审计局-{uuid.uuid4().hex[:6]}"
    ids = {}
    for title in TITLES:
        task_id = await seed_task(pool, unit, Stage.PLANNED, title="占位")
        # As stored before titles were checked on the way in.
        await pool.execute("UPDATE tasks SET title = $1 WHERE id = $2", title, task_id)
        ids[task_id] = title

    report(pg_url, unit, "csv", tmp_path / "month.csv")
    text = (tmp_path / "month.csv").read_bytes().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text, newline="")))
    cells = {row[0]: row[1] for row in table[1:]}
    assert cells == {task_id: TITLES[title] for task_id, title in ids.items()}

    report(pg_url, unit, "xlsx", tmp_path / "month.xlsx")
    sheet = load_workbook(tmp_path / "month.xlsx").active
    assert sheet is not None
    read = {row[0].value: row[1] for row in sheet.iter_rows(min_row=3) if row[0].value is not None}
    # XML reads a carriage return back as a line feed; the quote before it stays.
    said = {t: TITLES[v].replace("\r", "\n") for t, v in ids.items()}
    assert {k: c.value for k, c in read.items()} == said
    assert {c.data_type for c in read.values()} == {"s"}  # text, never a formula ("f")
    every = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in every)
