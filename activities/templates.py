"""Editable message templates: one per notice kind, with named fields, checked on import so
a typo is refused with its line instead of failing a notice months later."""

from __future__ import annotations

import string
from datetime import datetime
from typing import Any

import asyncpg

from workflows.contracts import Notice
from workflows.windows import OFFICE_TZ

FIELDS = {
    "title": "the task's title",
    "task_id": "the task's id",
    "unit": "the unit concerned",
    "role": "whom the notice is for (副秘书长, ...)",
    "level": "the escalation level",
    "window": "the window missed or closing (签收, 计划反馈, ...)",
    "window_deadline": "when that window closes or closed",
    "expected": "what is expected (receipt, plan report, ...)",
    "answer_by": "when this level must answer",
    "late": "how late, in hours",
    "link": "the task in the Temporal Web UI",
    "text": "the built-in text",
}
KINDS = ("escalation", "copy", "reminder", "warning", "matter", "info")


def fields_of(body: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}


def check(kind: str, body: str) -> str | None:
    """The reason a template is refused, or None."""
    if kind not in KINDS:
        return f"unknown notice kind {kind!r} (kinds: {', '.join(KINDS)})"
    try:
        unknown = sorted(fields_of(body) - FIELDS.keys())
    except ValueError as err:
        return f"template {kind!r}: {err}"
    if unknown:
        return f"template {kind!r}: unknown field {{{unknown[0]}}} (known: {', '.join(FIELDS)})"
    return None


def render(body: str, notice: Notice, ui_url: str | None, now: datetime) -> str:
    facts: dict[str, Any] = {key: "" for key in FIELDS}
    facts.update(notice.facts)
    facts.update(
        title=notice.title,
        task_id=notice.task_id,
        unit=notice.unit,
        level=notice.level,
        text=notice.text,
    )
    closed = notice.facts.get("window_deadline_iso")
    if closed:
        hours = (now - datetime.fromisoformat(closed)).total_seconds() / 3600
        facts["late"] = f"{max(hours, 0):.0f}"
        facts["window_deadline"] = (
            datetime.fromisoformat(closed).astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
        )
    if ui_url:
        facts["link"] = f"{ui_url.rstrip('/')}/namespaces/default/workflows/{notice.task_id}"
    return body.format_map(facts)


async def load(pool: asyncpg.Pool) -> dict[str, str]:
    return {r["kind"]: r["body"] for r in await pool.fetch("SELECT kind, body FROM templates")}


async def replace(pool: asyncpg.Pool, templates: dict[str, str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM templates")
        await conn.executemany(
            "INSERT INTO templates (kind, body) VALUES ($1, $2)", list(templates.items())
        )
