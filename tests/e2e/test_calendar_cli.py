"""`duban calendar`: China's working days, the operators' table, and re-planning open tasks."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from activities.calendar import library_knows
from tests.e2e.stack import Stack, wait_for

pytestmark = pytest.mark.e2e

TASK = """
id: {id}
title: 编制年度执法检查计划
source: 区政府常务会议纪要〔2026〕13号
assigning_unit: 区政府办公室
lead_unit: 区司法局
standard: 计划印发
policy:
  windows: {{receive: 1wd, deploy: 3wd, plan: 5wd, progress: 10wd, stage_every: 10wd, verify: 5wd}}
  escalation: [{{level: lead_unit, answer_within: 1wd}}]
  quiet_hours: false
  test_mode: true
"""


def test_deadline_counts_china_s_holidays_and_make_up_days(stack: Stack) -> None:
    result = json.loads(stack.ok("calendar", "deadline", "2026-02-13", "2", "--json"))
    assert result["deadline"] == "2026-02-24T18:00:00+08:00"
    assert result["fallback"] is False
    assert {"date": "2026-02-16", "why": "春节"} in result["skipped"]
    assert stack.ok("calendar", "deadline", "2026-09-30T10:00:00+08:00", "3").strip() == (
        "2026-10-10T18:00:00+08:00"
    )
    shown = stack.ok("calendar", "show", "2026")
    assert (
        "2026-02-14 Sat  workday  调休上班" in shown and "2026-10-01 Thu  holiday  国庆节" in shown
    )


def test_a_year_with_no_calendar_is_flagged(stack: Stack) -> None:
    if library_knows(2027):
        pytest.skip("chinesecalendar now knows 2027")
    result = json.loads(stack.ok("calendar", "deadline", "2026-12-30", "3", "--json"))
    assert result["fallback"] is True and "按周一至周五推算" in result["rule"]
    assert "FALLBACK" in stack.ok("calendar", "show", "2027")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("2027-02-30,holiday,春节\n", "is not a date"),
        ("2027-02-10,holiday\n2027-02-10,workday\n", "listed twice"),
        ("2027-02-10,vacation\n", "use workday or holiday"),
        ("2027-02-10\n", "write date,kind[,name]"),
    ],
)
def test_a_bad_calendar_file_is_refused_whole(
    stack: Stack, tmp_path: Path, content: str, reason: str
) -> None:
    before = stack.ok("calendar", "show", "2027")
    path = tmp_path / "bad.csv"
    path.write_text("2027-01-01,holiday,元旦\n" + content, encoding="utf-8")
    done = stack.duban("calendar", "import", str(path))
    assert done.returncode == 1 and reason in done.stderr and done.stderr.count("\n") == 1
    assert stack.ok("calendar", "show", "2027") == before  # nothing imported


def test_an_import_re_plans_every_open_task(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(TASK.format(id="T-E2E-REPLAN"), encoding="utf-8")
    stack.ok("task", "start", str(path))
    first = wait_for(lambda: (s := stack.show("T-E2E-REPLAN"))["deadlines"] and s)
    old = datetime.fromisoformat(first["deadlines"][0]["at"])
    assert old.hour == 18 and old.utcoffset() is not None

    # The State Council adds a day off on the day the receipt was due.
    calendar = tmp_path / "revision.csv"
    calendar.write_text(f"date,kind,name\n{old.date()},holiday,临时调整\n", encoding="utf-8")
    out = stack.ok("calendar", "import", str(calendar))
    assert "imported 1 days" in out and "re-planning" in out

    def replanned() -> dict[str, object] | None:
        s = stack.show("T-E2E-REPLAN")
        return s if any(e["kind"] == "replanned" for e in s["events"]) else None

    state = wait_for(replanned)
    new = datetime.fromisoformat(state["deadlines"][0]["at"])
    assert new.date() > old.date() and "临时调整" in state["deadlines"][0]["rule"]
    event = next(e for e in state["events"] if e["kind"] == "replanned")
    assert old.strftime("%Y-%m-%d %H:%M") in event["detail"]
    assert new.strftime("%Y-%m-%d %H:%M") in event["detail"]
    shown = stack.ok("task", "show", "T-E2E-REPLAN")
    assert "临时调整" in shown and "日历：国家法定工作日" in shown
