"""Bounds on everything a person hands a task, checked where it comes in (the task file,
the CLI, the HTTP API) and again by the task's own rules, so no input stops supervision.

Checked as rules, not as constraints of the pydantic contracts: a recorded history must
still decode whatever its payloads held before these bounds existed."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from workflows import durations
from workflows.policy import Policy

MAX_TITLE = 500  # a title, a source or a work standard
MAX_NAME = 100  # a unit's or a person's name
MAX_TEXT = 20_000  # a report, a reason, a note: some ten pages of Chinese
MAX_CO_UNITS = 50
# The years a deadline can be counted in: China's calendar is published from 2004, and the
# fallback (Monday to Friday) counts any later year; beyond 2099 a date is a typing error.
FIRST_DAY = date(2004, 1, 1)
LAST_DAY = date(2099, 12, 31)
# The shortest window or answer window outside a policy's explicit test mode: a deadline
# shorter than this is a typing error that would remind a leader every few seconds.
FLOOR = "1h"

# Bidirectional overrides and isolates reorder what a person sees (a "Trojan source").
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\\s]")


# How each bounded field reads in a refusal; a caller may also name one in Chinese.
FIELD_LABELS = {
    "title": "标题",
    "source": "来源",
    "standard": "工作标准",
    "unit": "单位",
    "by": "办理人",
    "text": "正文",
    "until": "延期日期",
    "due": "完成时限",
    "id": "任务编号",
    "date": "日期",
    "name": "名称",
    "from": "开始日期",
    "to": "结束日期",
    "template": "模板正文",
}


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def text_problem(field: str, value: str, limit: int, lines: bool = False) -> str | None:
    """Why a text may not be taken, or None: too long, a control character (NUL, an ANSI
    escape; newlines and tabs only where `lines`), a bidi override, or nothing visible."""
    name = _label(field)
    if len(value) > limit:
        return f"{name} {len(value)} 字，最多 {limit} 字"
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (lines and ch in "\n\t\r"):
            return f"{name}：不允许控制字符（U+{ord(ch):04X}）"
    if (bidi := _BIDI.search(value)) is not None:
        return f"{name}：不允许文字方向控制字符（U+{ord(bidi.group()):04X}）"
    if value.strip() and not _INVISIBLE.sub("", value):  # blank is for the rules to judge
        return f"{name}：全是不可见字符"
    return None


def clean(value: str | None, limit: int) -> str | None:
    """A text as a record may keep it whatever it held: control characters out, clipped.
    For what is recorded of a message that was refused for holding them."""
    if value is None:
        return None
    kept = "".join(ch for ch in value if unicodedata.category(ch) != "Cc")
    return _BIDI.sub("", kept)[:limit]


def clip(value: str | None, limit: int) -> str | None:
    """A text clipped to `limit` characters, marked where it was cut."""
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def date_problem(field: str, value: date | None) -> str | None:
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        return f"{_label(field)} {value} 不在 {FIRST_DAY.year} 至 {LAST_DAY.year} 年之间"
    return None


def first(*problems: str | None) -> str | None:
    return next((p for p in problems if p is not None), None)


def names_problem(field: str, names: list[str]) -> str | None:
    return first(*(text_problem(field, n, MAX_NAME) for n in names))


def message_problem(unit: str, by: str, text: str, until: date | None) -> str | None:
    """Why a message's fields may not be taken (the task's rules check the rest)."""
    return first(
        text_problem("unit", unit, MAX_NAME),
        text_problem("by", by, MAX_NAME),
        text_problem("text", text, MAX_TEXT, lines=True),
        date_problem("until", until),
    )


def spec_problem(
    title: str, source: str, standard: str, units: list[str], co_units: int, due: date | None
) -> str | None:
    """Why a task's fields may not be taken, beyond what the task file's schema checks."""
    if co_units > MAX_CO_UNITS:
        return f"协办单位 {co_units} 个，最多 {MAX_CO_UNITS} 个"
    return first(
        text_problem("title", title, MAX_TITLE),
        text_problem("source", source, MAX_TITLE),
        text_problem("standard", standard, MAX_TITLE, lines=True),
        names_problem("unit", units),
        date_problem("due", due),
    )


def policy_problem(policy: Policy) -> str | None:
    """A window or an answer window under the floor, outside the policy's test mode."""
    if policy.test_mode:
        return None
    floor = durations.plain(FLOOR)
    spans = [(f"windows.{k}", v) for k, v in policy.windows.model_dump().items()]
    spans += [(f"escalation.{r.level}", r.answer_within) for r in policy.escalation]
    spans += [(f"coordination.{r.level}", r.answer_within) for r in policy.coordination]
    for rules, name in ((policy.important, "important"), (policy.urgent, "urgent")):
        if rules is None:
            continue
        spans += [(f"{name}.windows.{k}", v) for k, v in rules.windows.model_dump().items() if v]
        spans += [(f"{name}.escalation.{r.level}", r.answer_within) for r in rules.escalation or []]
    for field, span in spans:
        if durations.working_days(span) is None and durations.plain(span) < floor:
            return (
                f"督办策略 {field} 为 {span}，短于 {FLOOR}；"
                "只有写明 test_mode: true 的策略可以按分钟或秒计时"
            )
    return None
