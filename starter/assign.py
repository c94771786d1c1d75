"""Assigning tasks from a form or from the ledger spreadsheet, for the office's page and
`duban task import`: each task's fields checked field by field (every refusal beside its
field, in Chinese), then by starter.taskfile.task_from, the task file's own check; a
spreadsheet started all or nothing: no task starts while any row is refused.

A row without 编号 gets an id made from the file's content and the row's line, so the same
spreadsheet imported twice is refused as already imported instead of assigned twice."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
from temporalio.client import Client

from activities import authz
from activities.directory import Directory
from starter import commands
from starter.ledgerfile import NAMES, Ledger
from starter.taskfile import task_from
from workflows import limits
from workflows.contracts import TaskSpec
from workflows.errors import DubanError
from workflows.policy import BUILTIN

MAX_AT_ONCE = 8  # workflows started at once by an import


@dataclass
class Checked:
    """A task's fields and, when they hold, its spec; else what is wrong, by field ("" for
    the task as a whole)."""

    line: int
    fields: dict[str, Any]
    spec: TaskSpec | None = None
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def refusal(self) -> str:
        """All that is wrong, in one line: 牵头单位：「区教育局」不是人员名录中的单位."""
        return "；".join(f"{NAMES[k]}：{v}" if k in NAMES else v for k, v in self.problems.items())


def _units(fields: dict[str, Any], directory: Directory) -> dict[str, str]:
    problems: dict[str, str] = {}
    known = directory.units
    for key in ("assigning_unit", "lead_unit"):
        unit = fields.get(key) or ""
        if unit and known and unit not in known:
            problems[key] = f"「{unit}」不是人员名录中的单位"
    co = list(fields.get("co_units") or [])
    strangers = [u for u in co if known and u not in known]
    if strangers:
        problems["co_units"] = "、".join(f"「{u}」" for u in strangers) + "不是人员名录中的单位"
    elif len(set(co)) != len(co):
        problems["co_units"] = "同一单位填写了两次"
    elif fields.get("lead_unit") in co:
        problems["co_units"] = "牵头单位不能同时是协办单位"
    return problems


def check(
    fields: dict[str, Any],
    line: int,
    directory: Directory,
    today: date,
    person: str | None = None,
    found: dict[str, str] | None = None,
) -> Checked:
    """The fields as a task: every refusal by field, or the spec. `person`, when given,
    must be one who may assign for the assigning unit (the office, or its member)."""
    checked = Checked(line, fields, problems=dict(found or {}))
    problems = checked.problems
    for key in ("title", "source", "assigning_unit", "lead_unit", "standard"):
        value = str(fields.get(key) or "").strip()
        if not value:
            problems.setdefault(key, "必须填写")
            continue
        limit = limits.MAX_NAME if key.endswith("unit") else limits.MAX_TITLE
        said = limits.text_problem(key, value, limit, lines=key == "standard")
        if said is not None:
            problems.setdefault(key, said)
    for key, said in _units(fields, directory).items():
        problems.setdefault(key, said)
    due = fields.get("due")
    if isinstance(due, date) and "due" not in problems:
        if due < today:
            problems["due"] = f"{due} 已过（今天是 {today}）"
        elif (said := limits.date_problem("due", due)) is not None:
            problems["due"] = said
    policy = fields.get("policy", "default")
    if not isinstance(policy, str) or policy not in BUILTIN:
        problems["policy"] = f"「{policy}」不是内置督办策略（可用：{'、'.join(BUILTIN)}）"
    unit = fields.get("assigning_unit")
    if person is not None and unit and "assigning_unit" not in problems:
        try:
            authz.may_assign(directory, person, unit, today)
        except authz.Refusal:
            problems["assigning_unit"] = f"您不能以{unit}的名义交办任务"
    if problems:
        return checked
    try:
        checked.spec = task_from(fields, today, None)
    except DubanError as err:  # what the task file's own check finds beyond the above
        problems[""] = str(err)
    return checked


def row_id(digest: str, today: date, line: int) -> str:
    return f"T-{today.year}-{digest[:6]}{line:03d}"


def check_ledger(
    ledger: Ledger,
    content: bytes,
    directory: Directory,
    today: date,
    person: str | None = None,
    policy: str | None = None,
) -> list[Checked]:
    """Every row checked; ids given to rows without one; an id given twice refused."""
    digest = hashlib.sha256(content).hexdigest()
    checked = []
    seen: dict[str, int] = {}
    for row in ledger.rows:
        fields = dict(row.fields)
        fields.setdefault("id", row_id(digest, today, row.line))
        if policy is not None:
            fields.setdefault("policy", policy)
        one = check(fields, row.line, directory, today, person, row.problems)
        if fields["id"] in seen:
            one.problems["id"] = f"与第 {seen[fields['id']]} 行的编号相同"
            one.spec = None
        seen.setdefault(fields["id"], row.line)
        checked.append(one)
    return checked


async def already(pool: asyncpg.Pool, rows: list[Checked], client: Client | None = None) -> None:
    """Mark the rows whose task already exists (the same ledger imported before): in the
    ledger, or (with a client) in Temporal's visibility, where a task is from its start."""
    ids = [r.spec.id for r in rows if r.spec is not None]
    existing = {r["id"] for r in await pool.fetch("SELECT id FROM tasks WHERE id = ANY($1)", ids)}
    if client is not None:
        for at in range(0, len(ids), 100):
            quoted = ", ".join(f"'{i}'" for i in ids[at : at + 100] if "'" not in i)
            if quoted:
                query = f"WorkflowId IN ({quoted})"
                existing |= {wf.id async for wf in client.list_workflows(query)}
    for r in rows:
        if r.spec is not None and r.spec.id in existing:
            r.problems["id"] = f"任务 {r.spec.id} 已存在（这份台账可能已经导入过）"
            r.spec = None


def refused(rows: list[Checked]) -> list[Checked]:
    return [r for r in rows if r.problems]


async def start_all(client: Client, rows: list[Checked], task_queue: str, by: str) -> list[str]:
    """Start every row's task (none may be refused); the ids, in the rows' order."""
    if refused(rows):
        raise DubanError("有被拒绝的行，未导入任何任务")
    gate = asyncio.Semaphore(MAX_AT_ONCE)

    async def one(spec: TaskSpec) -> str:
        async with gate:
            return await commands.start_spec(client, spec, task_queue, by)

    return list(await asyncio.gather(*(one(r.spec) for r in rows if r.spec is not None)))
