"""The rest of the procedure through the command line: difficulty, suspension, extension."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, wait_for

pytestmark = pytest.mark.e2e

TASK = """
id: T-E2E-PROC
title: 清理规范性文件
source: 区政府常务会议纪要〔2026〕14号
assigning_unit: 区政府办公室
lead_unit: 区司法局
co_units: [区财政局]
standard: 形成清理目录
urgency: normal
policy:
  windows: {receive: 1h, deploy: 1h, plan: 2h, progress: 3h, stage_every: 3h, verify: 1h,
            difficulty: 1h, difficulty_answer: 1h, extension_answer: 1h}
  escalation: [{level: lead_unit, answer_within: 1h}]
  quiet_hours: false
  test_mode: true
"""
LEAD = ("--unit", "区司法局", "--by", "张三")
OFFICE = ("--unit", "区政府办公室", "--by", "李四")


def refusal(stack: Stack, *args: str) -> str:
    done = stack.duban(*args)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def test_difficulty_suspension_and_extension_from_the_command_line(
    stack: Stack, tmp_path: Path
) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(TASK, encoding="utf-8")
    stack.ok("task", "start", str(path))
    stack.ok("task", "receive", "T-E2E-PROC", *LEAD)
    stack.ok("task", "difficulty", "T-E2E-PROC", *LEAD, "--text", "职责交叉，需明确")
    assert "继续执行（continue）、暂停执行（suspend）或调整思路（new_approach）" in refusal(
        stack, "task", "answer-difficulty", "T-E2E-PROC", *OFFICE, "--decision", "later"
    )
    stack.ok("task", "answer-difficulty", "T-E2E-PROC", *OFFICE, "--decision", "suspend")
    state = stack.show("T-E2E-PROC")
    assert state["light"] == "grey" and state["suspended_since"]
    assert "suspended" in stack.ok("task", "show", "T-E2E-PROC")
    assert "已由办公室暂停执行，恢复执行前不能报送部署情况" in refusal(
        stack, "task", "deploy", "T-E2E-PROC", *LEAD
    )
    wait_for(lambda: "T-E2E-PROC" in stack.ok("task", "list", "--light", "grey"))

    stack.ok("task", "resume", "T-E2E-PROC", *OFFICE, "--text", "已明确职责")
    assert stack.show("T-E2E-PROC")["light"] != "grey"
    assert "is not a date" in refusal(
        stack, "task", "extend", "T-E2E-PROC", *LEAD, "--until", "2026-02-30", "--text", "x"
    )
    assert "延期日期 2026-01-05 不晚于当前时限" in refusal(
        stack, "task", "extend", "T-E2E-PROC", *LEAD, "--until", "2026-01-05", "--text", "x"
    )
    until = date.today() + timedelta(days=20)
    stack.ok("task", "extend", "T-E2E-PROC", *LEAD, "--until", str(until), "--text", "需征求意见")
    stack.ok("task", "decide-extension", "T-E2E-PROC", *OFFICE, "--decision", "approve")

    def extended() -> dict[str, object] | None:
        s = stack.show("T-E2E-PROC")
        first = s["deadlines"][0]  # type: ignore[index]
        return s if str(until) in first["at"] and "延期" in first["rule"] else None

    wait_for(extended)
    lowered = refusal(stack, "task", "raise-urgency", "T-E2E-PROC", *OFFICE, "--urgency", "normal")
    assert "紧急程度已是“一般”，只能提升" in lowered
    unknown = refusal(stack, "task", "raise-urgency", "T-E2E-PROC", *OFFICE, "--urgency", "very")
    assert "urgency: Input should be" in unknown
