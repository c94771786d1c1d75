"""The monthly written report per unit, as CSV and as an Excel workbook."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from openpyxl import load_workbook

from activities.ledger import LedgerActivities
from activities.report import monthly_rows, to_csv, to_xlsx
from workflows.contracts import Event, LedgerBatch, Stage, TaskSnapshot, TaskSpec
from workflows.policy import BUILTIN


async def test_a_unit_s_month_from_the_ledger(pool: asyncpg.Pool) -> None:
    unit = f"区审计局-{uuid.uuid4().hex[:4]}"
    now = datetime.now(UTC)
    spec = TaskSpec(
        id=f"T-rp-{uuid.uuid4().hex[:8]}",
        title="审计整改",
        source="纪要",
        assigning_unit="区政府办公室",
        lead_unit=unit,
        standard="整改到位",
        policy=BUILTIN["default"],
    )
    kinds = ["assigned", "deadline_set", "missed", "escalated", "received", "reported_plan"]
    events = [Event(seq=i, at=now, kind=k, stage=Stage.ASSIGNED) for i, k in enumerate(kinds, 1)]
    snapshot = TaskSnapshot(
        spec=spec,
        stage=Stage.PLANNED,
        escalation_level=0,
        next_deadline=now + timedelta(days=3),
        updated_at=now,
        light="yellow",
    )
    await LedgerActivities(pool).record_events(LedgerBatch(task=snapshot, events=events))

    [row] = await monthly_rows(pool, unit, now.date())
    assert (row["task"], row["misses"], row["escalations"], row["reports"]) == (spec.id, 1, 1, 1)
    assert await monthly_rows(pool, unit, (now - timedelta(days=62)).date()) == []

    table = list(csv.reader(io.StringIO(to_csv([row]).decode("utf-8-sig"))))
    assert table[0][:3] == ["任务编号", "任务名称", "阶段"] and table[1][:4] == [
        spec.id,
        "审计整改",
        "planned",
        "yellow",
    ]
    book = load_workbook(io.BytesIO(to_xlsx([row], unit, now.date())))
    sheet = book.active
    assert sheet is not None
    assert sheet["A1"].value.startswith(unit) and sheet["A3"].value == spec.id
    assert sheet["F3"].value == 1 and sheet["I3"].value is not None
