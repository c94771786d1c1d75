"""workflows.limits: the bounds on what a person hands a task, and why each is refused, in the
office's Chinese with the field named as a clerk knows it (the task file's, the command
line's and the API's refusals all read these)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from workflows import limits
from workflows.policy import BUILTIN


@pytest.mark.parametrize(
    ("field", "value", "lines", "reason"),
    [
        ("text", "报" * 20_001, True, "正文 20001 字，最多 20000 字"),
        ("title", "标" * 501, False, "标题 501 字，最多 500 字"),
        ("text", "计划\x00", True, "正文：不允许控制字符（U+0000）"),
        ("title", "第一行\n第二行", False, "标题：不允许控制字符（U+000A）"),
        ("by", "\x1b[31m李四", False, "办理人：不允许控制字符（U+001B）"),
        ("unit", "区\u202e司法局", False, "单位：不允许文字方向控制字符（U+202E）"),
        ("unit", "\u200b\u200b", False, "单位：全是不可见字符"),
        ("template", "督" * 2001, True, "模板正文 2001 字，最多 2000 字"),
        ("某字段", "\x07", False, "某字段：不允许控制字符（U+0007）"),  # named in Chinese
    ],
)
def test_a_text_is_refused_in_the_office_s_words(
    field: str, value: str, lines: bool, reason: str
) -> None:
    limit = {"text": limits.MAX_TEXT, "title": limits.MAX_TITLE, "template": 2000}
    assert limits.text_problem(field, value, limit.get(field, limits.MAX_NAME), lines) == reason


def test_what_a_text_may_hold() -> None:
    for value, lines in [("第一行\n第二行\t完", True), ("报" * 20_000, True), ("", False)]:
        assert limits.text_problem("text", value, limits.MAX_TEXT, lines) is None


def test_a_date_outside_the_counted_years() -> None:
    assert limits.date_problem("until", date(9999, 12, 31)) == (
        "延期日期 9999-12-31 不在 2004 至 2099 年之间"
    )
    assert limits.date_problem("due", date(2003, 12, 31)) == (
        "完成时限 2003-12-31 不在 2004 至 2099 年之间"
    )
    assert limits.date_problem("due", date(2099, 12, 31)) is None


def test_a_task_s_fields() -> None:
    ok = ("标题", "来源", "标准", ["区政府办公室", "区司法局"], 2, date(2026, 12, 31))
    assert limits.spec_problem(*ok) is None
    assert limits.spec_problem("标题", "来源", "标准", ["区司法局"], 51, None) == (
        "协办单位 51 个，最多 50 个"
    )
    assert limits.spec_problem("标题", "来源", "标准", ["区司法局\x00"], 0, None) == (
        "单位：不允许控制字符（U+0000）"
    )


def test_a_policy_counting_in_minutes_needs_test_mode() -> None:
    demo = BUILTIN["demo"]
    assert limits.policy_problem(demo) is None
    reason = limits.policy_problem(demo.model_copy(update={"test_mode": False}))
    assert reason == (
        "督办策略 windows.receive 为 1m，短于 1h；只有写明 test_mode: true 的策略可以按分钟或秒计时"
    )
    assert limits.policy_problem(BUILTIN["default"]) is None


def test_every_reason_is_chinese_but_for_what_an_operator_types() -> None:
    reasons = [limits.text_problem(f, "\x00", 10) for f in limits.FIELD_LABELS] + [
        limits.date_problem(f, date(1999, 1, 1)) for f in limits.FIELD_LABELS
    ]
    for reason in reasons:
        assert reason is not None and not re.findall(r"[A-Za-z]{2,}", reason), reason
