"""The notices' templates: the fields a template may name (each declared here once, with its
meaning), the default template of every notice kind, and the office's own, which replace
the defaults kind by kind. The office's are checked on import, so a typo is refused with
its line instead of failing a notice months later."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

import asyncpg

from workflows import limits
from workflows.names import NoticeKind

FIELDS: dict[str, str] = {
    "title": "the task's title",
    "task_id": "the task's id",
    "unit": "the unit the notice is about: the late one, the one that raised a matter, "
    "the co-unit that contributed (before release 3: the recipient's unit)",
    "recipient_unit": "the recipient's own unit",
    "role": "whom the notice is for (牵头单位主要负责人, 副秘书长, 协办单位, ...)",
    "level": "the escalation level",
    "urgency": "the task's urgency (一般, 重要, 紧急)",
    "window": "the window missed or closing (签收, 部署, 计划反馈, ...)",
    "window_deadline": "when that window closes or closed (2026-11-23 18:00)",
    "expected": "what that window expects (签收, 报送部署情况, 报送实施计划, ...)",
    "answer_by": "when the recipient must answer",
    "late": "how late, in working days and hours: 逾期 2 个工作日, 逾期 1 个工作日 4 小时, "
    "刚刚逾期; empty before the window closes",
    "matter": "the matter raised (执行困难, 延期申请, 意见分歧)",
    "said": "what the unit said: the matter raised, the contribution",
    "failed_role": "for an undelivered notice: whom it was for",
    "failed_unit": "for an undelivered notice: that role's unit",
    "link": "「详情：」and the task's address; empty where no address is set",
    "url": "the task's address alone: DUBAN_PUBLIC_URL, else the Temporal Web UI",
    "action_url": "the action link alone: where the recipient acts on the notice, made for "
    "them (DUBAN_HTTP_PUBLIC_URL/a/...); empty where it asks nothing of them",
    "action": "「办理：」and the action link, where the notice asks something of its recipient "
    "(sign, acknowledge, answer, decide, resolve); empty otherwise",
    "text": "the default text of this notice (before release 3: the text it came with)",
}
KINDS: tuple[str, ...] = tuple(NoticeKind)

# The built-in text of every kind, each the office's to replace (deploy/examples/templates.yaml).
DEFAULTS: dict[str, str] = {
    NoticeKind.ESCALATION: (
        "【督办】{title}（{task_id}）：{unit}{window}（应于 {window_deadline} 前{expected}）"
        "{late}，现升级至{role}（第 {level} 级），请于 {answer_by} 前督促反馈。{action}{link}"
    ),
    NoticeKind.COPY: (
        "【督办抄送】{title}（{task_id}）：{unit}{window}（应于 {window_deadline} 前{expected}）"
        "{late}，已升级至第 {level} 级，请知悉。{link}"
    ),
    NoticeKind.REMINDER: (
        "【督办提醒】{title}（{task_id}）：{unit}{window}（应于 {window_deadline} 前{expected}）"
        "{late}，仍未反馈，再次提醒{role}，请于 {answer_by} 前督促反馈。{action}{link}"
    ),
    NoticeKind.WARNING: (
        "【督办预警】{title}（{task_id}）：{window}将于 {window_deadline} 截止，"
        "请{unit}按时{expected}。{action}{link}"
    ),
    NoticeKind.MATTER: (
        "【督办】{title}（{task_id}）：{unit}提出{matter}「{said}」，"
        "请{role}于 {answer_by} 前答复。{action}{link}"
    ),
    NoticeKind.RECEIVED: (
        "【督办】{title}（{task_id}）：{unit}已签收，请{role}当日阅知并督促落实。{link}"
    ),
    NoticeKind.CONTRIBUTION: (
        "【督办】{title}（{task_id}）：协办单位{unit}报送协办情况：「{said}」。{link}"
    ),
    NoticeKind.UNDELIVERED: (
        "【督办】{title}（{task_id}）：致{failed_unit}{failed_role}的通知未能送达，"
        "请另行联系（原因见任务记录）。{link}"
    ),
    NoticeKind.STALLED: (
        "【督办】{title}（{task_id}）：{unit}{window}（应于 {window_deadline} 前{expected}）"
        "{late}，已多次提醒主要领导仍未反馈，系统不再自动提醒，请办公室跟进督办。{link}"
    ),
    NoticeKind.INFO: "【督办】{title}（{task_id}）：{said}{link}",
}


# A template is filled by `fill`, never by str.format: a field is a plain name of FIELDS, with
# no conversion (!r), attribute (.x), index ([0]) or nested field, and a format spec only
# aligns and pads to a width of at most MAX_WIDTH. Whatever is stored, filling it cannot
# raise but TemplateError, and its text is bounded: MAX_BODY characters and MAX_USES fields.
MAX_BODY = 2_000
MAX_USES = 40
MAX_WIDTH = 40
_SPEC = re.compile(r"[<>^]?([1-9][0-9]?)")


class TemplateError(ValueError):
    """Why a template cannot be filled in."""


def parse(body: str) -> list[tuple[str, str | None, str]]:
    """The template's pieces, each text then the field that follows it (or None) and the
    field's format spec; TemplateError at the first thing the sandbox does not allow."""
    problem = limits.text_problem("template", body, MAX_BODY, lines=True)
    if problem is not None:
        raise TemplateError(problem)
    try:
        parts = list(string.Formatter().parse(body))
    except ValueError as err:  # a lone { or }
        raise TemplateError(str(err)) from None
    pieces: list[tuple[str, str | None, str]] = []
    for literal, name, spec, conversion in parts:
        if name is None:
            pieces.append((literal, None, ""))
            continue
        if "." in name or "[" in name:
            raise TemplateError(
                f"cannot be filled in: {{{name}}}: a field is a plain name, "
                "with no attribute or index"
            )
        if name not in FIELDS:
            raise TemplateError(f"unknown field {{{name}}} (known: {', '.join(FIELDS)})")
        if conversion is not None:
            raise TemplateError(f"cannot be filled in: {{{name}!{conversion}}}: no conversions")
        width = _SPEC.fullmatch(spec or "")
        if spec and (width is None or int(width.group(1)) > MAX_WIDTH):
            raise TemplateError(
                f"cannot be filled in: the format {{{name}:{spec}}}: a field may only be "
                f"aligned and padded to a width of at most {MAX_WIDTH}, as {{{name}:>8}}"
            )
        pieces.append((literal, name, spec or ""))
    if sum(name is not None for _, name, _ in pieces) > MAX_USES:
        raise TemplateError(f"more than {MAX_USES} fields")
    return pieces


def fill(body: str, fields: Mapping[str, str]) -> str:
    """The template filled in with `fields` (a field not given is empty)."""
    return "".join(
        literal + (format(str(fields.get(name, "")), spec) if name is not None else "")
        for literal, name, spec in parse(body)
    )


def check(kind: str, body: str) -> str | None:
    """The reason a template is refused by its form, or None (activities.wording.check also
    fills it in for a sample notice of its kind)."""
    if kind not in KINDS:
        return f"unknown notice kind {kind!r} (kinds: {', '.join(KINDS)})"
    try:
        parse(body)
    except TemplateError as err:
        return f"template {kind!r}: {err}"
    return None


async def load(pool: asyncpg.Pool) -> dict[str, str]:
    return {r["kind"]: r["body"] for r in await pool.fetch("SELECT kind, body FROM templates")}


async def replace(pool: asyncpg.Pool, templates: dict[str, str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM templates")
        await conn.executemany(
            "INSERT INTO templates (kind, body) VALUES ($1, $2)", list(templates.items())
        )
