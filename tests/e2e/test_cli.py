"""End to end: `duban up` (dev server + pgserver + worker) driven by the `duban` command."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.e2e.stack import Stack, wait_for
from tests.peers import WebhookReceiver
from workflows.windows import OFFICE_TZ

pytestmark = pytest.mark.e2e

POLICY = """
windows: {receive: 4s, deploy: 1h, plan: 2h, progress: 3h, stage_every: 3h, verify: 1h}
escalation:
  - {level: lead_unit, answer_within: 3s}
  - {level: deputy_secretary_general, answer_within: 3s}
  - {level: principal_leader, answer_within: 1h}
warning_margin: 2s
quiet_hours: false
test_mode: true
"""

TASK = """
id: {id}
title: 完善行政执法协调机制
source: 区政府常务会议纪要〔2026〕12号
assigning_unit: 区政府办公室
lead_unit: 区司法局
co_units: [区财政局, 区人社局]
standard: 形成协调办法并印发
urgency: normal
policy: seconds.yaml
"""


def task_file(folder: Path, task_id: str) -> Path:
    (folder / "seconds.yaml").write_text(POLICY, encoding="utf-8")
    path = folder / f"{task_id}.yaml"
    path.write_text(TASK.format(id=task_id), encoding="utf-8")
    return path


async def ledger(url: str, task_id: str) -> tuple[list[Any], list[Any]]:
    conn = await asyncpg.connect(url)
    try:
        events = await conn.fetch(
            "SELECT seq, kind, unit, actor, level FROM task_events WHERE task_id=$1 ORDER BY seq",
            task_id,
        )
        notes = await conn.fetch(
            "SELECT seq, role, status FROM notifications WHERE task_id=$1 ORDER BY seq, role",
            task_id,
        )
    finally:
        await conn.close()
    return events, notes


def test_a_task_climbs_to_level_three_and_a_report_stops_it(
    stack: Stack, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    path = task_file(tmp_path, "T-E2E-CLIMB")
    assert stack.ok("task", "start", str(path)).strip() == "T-E2E-CLIMB"

    state = wait_for(lambda: (s := stack.show("T-E2E-CLIMB"))["escalation_level"] == 3 and s)
    assert state["stage"] == "assigned"
    wait_for(lambda: len(receiver.for_task("T-E2E-CLIMB")) >= 13)
    everything = receiver.for_task("T-E2E-CLIMB")
    assert [p["kind"] for p in everything].count("warning") == 1
    assert len([p for p in everything if p["recipient_role"] == "co_unit"]) == 6
    got = [p for p in everything if p["kind"] != "warning" and p["recipient_role"] != "co_unit"]
    # Each level is told once, and everyone below it is copied once.
    assert Counter((p["level"], p["recipient_role"]) for p in got) == Counter(
        {
            (1, "lead_unit"): 1,
            (2, "deputy_secretary_general"): 1,
            (2, "lead_unit"): 1,
            (3, "principal_leader"): 1,
            (3, "deputy_secretary_general"): 1,
            (3, "lead_unit"): 1,
        }
    )
    assert all("区司法局" in p["text"] for p in got)

    out = stack.ok("task", "receive", "T-E2E-CLIMB", "--unit", "区司法局", "--by", "张三")
    assert "accepted" in out and "received" in out
    state = wait_for(lambda: (s := stack.show("T-E2E-CLIMB"))["escalation_level"] == 0 and s)
    assert state["stage"] == "received" and state["misses"] == 1
    listed = stack.ok("task", "list", "--stage", "received", "--unit", "区司法局")
    assert "T-E2E-CLIMB" in listed or wait_for(
        lambda: "T-E2E-CLIMB" in stack.ok("task", "list", "--stage", "received")
    )

    # `task show --json` agrees with the ledger, event for event and notice for notice: the
    # thirteen of the climb and the lead unit's head told of the receipt.
    state = wait_for(
        lambda: (s := stack.show("T-E2E-CLIMB")) and len(s["notifications"]) == 14 and s
    )
    events, notes = asyncio.run(ledger(stack.database_url, "T-E2E-CLIMB"))
    wait_for(
        lambda: (
            len(asyncio.run(ledger(stack.database_url, "T-E2E-CLIMB"))[0]) == len(state["events"])
        )
    )
    events, notes = asyncio.run(ledger(stack.database_url, "T-E2E-CLIMB"))
    assert [(r["seq"], r["kind"], r["unit"], r["actor"], r["level"]) for r in events] == [
        (e["seq"], e["kind"], e["unit"], e["by"], e["level"]) for e in state["events"]
    ]
    assert sorted((r["seq"], r["role"], r["status"]) for r in notes) == sorted(
        (n["seq"], n["role"], n["status"]) for n in state["notifications"]
    )
    assert {r["status"] for r in notes} == {"delivered"}
    assert len(receiver.for_task("T-E2E-CLIMB")) == 14  # nothing sent twice


def test_bad_input_is_refused_in_one_line_and_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    path = task_file(tmp_path, "T-E2E-BAD")
    stack.ok("task", "start", str(path))
    before = stack.show("T-E2E-BAD")

    # A second start of the same id (a different title) is refused (tested against the dev
    # server: the time-skipping server stops skipping time after a refused start).
    (tmp_path / "again.yaml").write_text(
        TASK.format(id="T-E2E-BAD").replace("完善行政执法协调机制", "另一个任务"), encoding="utf-8"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: x\nlead_unit: 区司法局\n", encoding="utf-8")
    cases = {
        ("task", "start", str(broken)): "assigning_unit: missing",
        ("task", "start", str(tmp_path / "again.yaml")): "already exists",
        ("task", "receive", "T-NO-SUCH", "--unit", "区司法局", "--by", "张三"): "no task T-NO-SUCH",
        ("task", "receive", "T-E2E-BAD", "--unit", "区教育局", "--by", "王五"): (
            "refused: 区教育局无权签收：任务 T-E2E-BAD 只有区司法局可以签收"
        ),
        (
            "task",
            "report",
            "T-E2E-BAD",
            "--unit",
            "区司法局",
            "--by",
            "张三",
            "--kind",
            "plan",
            "--text",
            "计划",
        ): "处于“待签收”阶段；计划报告应在“已部署”阶段报送",
        ("task", "verify", "T-E2E-BAD", "--unit", "区司法局", "--by", "张三"): (
            "只有区政府办公室可以核实销号"
        ),
    }
    for args, reason in cases.items():
        done = stack.duban(*args)
        assert done.returncode != 0, args
        assert reason in done.stderr and done.stderr.count("\n") == 1, done.stderr
    after = stack.show("T-E2E-BAD")
    assert after["events"][: len(before["events"])] == before["events"]
    assert after["stage"] == "assigned" and after["title"] == "完善行政执法协调机制"
    assert all(e["kind"] != "received" for e in after["events"])


def test_a_restart_resumes_the_task_in_flight(stack: Stack, tmp_path: Path) -> None:
    path = task_file(tmp_path, "T-E2E-RESTART")
    stack.ok("task", "start", str(path))
    stack.ok("task", "receive", "T-E2E-RESTART", "--unit", "区司法局", "--by", "张三")
    assert stack.stop() == 0
    assert not (stack.data_dir / "stack.json").exists()
    stack.start()
    state = stack.show("T-E2E-RESTART")
    assert state["stage"] == "received"
    out = stack.ok("task", "deploy", "T-E2E-RESTART", "--unit", "区司法局", "--by", "张三")
    assert "deployed" in out


def test_history_and_ops_setup(stack: Stack, tmp_path: Path) -> None:
    path = task_file(tmp_path, "T-E2E-HISTORY")
    stack.ok("task", "start", str(path))
    stack.ok("task", "receive", "T-E2E-HISTORY", "--unit", "区司法局", "--by", "张三")
    rows = wait_for(
        lambda: (
            (r := json.loads(stack.ok("task", "history", "T-E2E-HISTORY", "--json")))
            and any(x["kind"] == "received" for x in r)
            and r
        )
    )
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
    received = next(r for r in rows if r["kind"] == "received")
    assert (received["unit"], received["actor"]) == ("区司法局", "张三")
    table = stack.ok("task", "history", "T-E2E-HISTORY")
    assert "received" in table and "张三" in table
    missing = stack.duban("task", "history", "T-NO-SUCH")
    assert missing.returncode == 1 and "no task T-NO-SUCH" in missing.stderr

    # The dev server has every attribute already; a second run changes nothing either.
    first = stack.ok("ops", "setup")
    assert "Light: already there (Keyword)" in first and "CoUnits: already there" in first
    assert stack.ok("ops", "setup") == first


def test_monthly_report_from_the_command_line(stack: Stack, tmp_path: Path) -> None:
    path = task_file(tmp_path, "T-E2E-REPORT")
    stack.ok("task", "start", str(path))
    # The office's month, as the report reads it: in Beijing's evening of a month's last day
    # (16:00-24:00 UTC) the host's month is still the one before.
    month = datetime.now(OFFICE_TZ).strftime("%Y-%m")
    out = tmp_path / "report.xlsx"
    wait_for(
        lambda: (
            stack.duban(
                "report",
                "monthly",
                "区司法局",
                "--month",
                month,
                "--format",
                "xlsx",
                "--out",
                str(out),
            ).returncode
            == 0
        )
    )
    assert out.read_bytes()[:2] == b"PK"  # a workbook
    bad = stack.duban("report", "monthly", "区司法局", "--month", "2026-13", "--out", str(out))
    assert bad.returncode == 1 and "write YYYY-MM" in bad.stderr
    none = stack.duban("report", "monthly", "区无此局", "--month", month, "--out", str(out))
    assert none.returncode == 1 and "leads no task" in none.stderr


def test_a_withdrawn_task_takes_no_more_messages(stack: Stack, tmp_path: Path) -> None:
    path = task_file(tmp_path, "T-E2E-CLOSED")
    stack.ok("task", "start", str(path))
    office = ("--unit", "区政府办公室", "--by", "李四")
    out = stack.ok("task", "withdraw", "T-E2E-CLOSED", *office, "--text", "任务调整")
    assert "stage withdrawn" in out
    withdrawn = next(e for e in stack.show("T-E2E-CLOSED")["events"] if e["kind"] == "withdrawn")
    # how it came in: an operator at the command line, for the unit named
    assert (withdrawn["role"], withdrawn["via"], withdrawn["by"]) == ("operator", "cli", "李四")

    lead = ("--unit", "区司法局", "--by", "张三")
    closed = "duban: task T-E2E-CLOSED is withdrawn; it takes no more messages\n"
    # The workflow ends a moment after it answers; until then its own rule refuses.
    wait_for(lambda: stack.duban("task", "receive", "T-E2E-CLOSED", *lead).stderr == closed)
    for signal in ((), ("--signal",)):
        done = stack.duban("task", "receive", "T-E2E-CLOSED", *lead, *signal)
        assert done.returncode == 1 and done.stderr == closed, done.stderr
    missing = stack.duban("task", "receive", "T-NO-SUCH", *lead, "--signal")
    assert missing.returncode == 1 and missing.stderr == "duban: no task T-NO-SUCH\n"
