"""The office's page (issue 15 §2): assign a task from a form, every refusal beside its
field; import the ledger spreadsheet, first as a preview with each row's refusal and its
line, then started all or nothing. The checks are starter.assign's, as `duban task import`
makes them; who may assign for a unit is activities.authz's (the office, or a member of
that unit).

The preview hands the browser the rows it checked, signed with the session's key, so the
start needs no server-side state (any instance behind the load balancer takes it); the
rows are checked again when it comes back, against the directory and the ledger as they
are then."""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature
from starlette.datastructures import UploadFile

from activities import authz
from starter import assign, commands, ledgerfile
from starter.http import pages
from starter.http.auth import door
from starter.http.pages import Me, MeDep, PageRefused, PostedDep, back, redirect, render
from workflows.errors import DubanError
from workflows.policy import BUILTIN
from workflows.windows import URGENCY_LABELS

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
PREVIEW_AGE = 3600  # seconds a preview may be started within
LEDGER_WAIT = 5.0  # seconds the page waits for the ledger to have the tasks it started
FIELDS = ("title", "source", "assigning_unit", "lead_unit", "standard", "due", "urgency")
POLICY_LABELS = {"default": "标准时限（按办公室督办办法）", "demo": "演示（按分钟计时）"}


def assignable(me: Me) -> list[str]:
    """The units this person may assign tasks for."""
    units = []
    for unit in sorted(me.directory.units):
        try:
            authz.may_assign(me.directory, me.person, unit, me.today)
        except authz.Refusal:
            continue
        units.append(unit)
    return units


def _office(me: Me) -> list[str]:
    units = assignable(me)
    if not units:
        raise PageRefused(403, "无权交办", "只有办公室或交办单位的经办人可以交办任务。", me)
    return units


def _defaults(me: Me) -> dict[str, Any]:
    """A new form: the assigning unit is the person's own, when they may assign for it."""
    units = assignable(me)
    own = [s.unit for s in me.seats if s.unit in units]
    unit = own[0] if own else (units[0] if units else "")
    return {"assigning_unit": unit, "urgency": "normal", "policy": "default", "co_units": []}


def _page(
    request: Request,
    me: Me,
    values: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "heading": "办公室",
        "me": me,
        "here": "office",
        "units": sorted(me.directory.units),
        "assignable": _office(me),
        "values": values or _defaults(me),
        "problems": problems or {},
        "urgencies": URGENCY_LABELS,
        "policies": [(name, POLICY_LABELS.get(name, name)) for name in BUILTIN],
        "today": me.today.isoformat(),
        "max_kib": request.app.state.http_settings.max_body_bytes // 1024,
    }
    return render(request, "office.html", context, status)


@router.get("/office")
async def office(request: Request, me: MeDep) -> Response:
    return _page(request, me)


def _fields(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's fields as a task file's, and what could not even be read."""
    fields: dict[str, Any] = {k: str(data.get(k, "")).strip() for k in FIELDS}
    fields["co_units"] = [str(u) for u in data.getlist("co_units") if str(u).strip()]
    fields["policy"] = str(data.get("policy", "default"))
    problems: dict[str, str] = {}
    if fields["due"]:
        try:
            fields["due"] = date.fromisoformat(fields["due"])
        except ValueError:
            problems["due"] = "不是日期（如 2026-12-31）"
    else:
        fields["due"] = None
    if fields["urgency"] not in URGENCY_LABELS:
        problems["urgency"] = "应为一般、重要或紧急"
    return fields, problems


@router.post("/office/assign")
async def assign_one(request: Request, posted: PostedDep) -> Response:
    me = posted.me
    _office(me)
    fields, found = _fields(posted.form)
    checked = assign.check(fields, 0, me.directory, me.today, me.person, found)
    values = fields | {"due": fields["due"].isoformat() if fields["due"] else ""}
    if checked.spec is None:
        return _page(request, me, values, checked.problems, 422)
    d = door(request)
    try:
        task_id = await commands.start_spec(d.client, checked.spec, d.task_queue, me.person)
    except DubanError as err:
        log.warning("office: task not started", error=str(err))
        return _page(request, me, values, {"": "任务未能交办，请稍后再试。"}, 503)
    log.info("office: task assigned", task_id=task_id, person=me.person)
    await _in_ledger(d.pool, [task_id])
    return back(request, me, f"/tasks/{task_id}", "done", f"已交办：{checked.spec.title}")


_ENGLISH = re.compile(r"[A-Za-z]{3,}")


def _file_refusal(reason: str, tmp: Path, name: str) -> str:
    """What a file that cannot be a ledger says, in Chinese, naming the uploaded file."""
    reason = reason.replace(str(tmp), name)
    if not _ENGLISH.search(reason.replace(name, "")):
        return reason
    if "larger than" in reason:
        return f"{name}：文件超过 {ledgerfile.LEDGER.max_bytes // 1024 // 1024} MiB"
    return f"{name}：无法读取，应为 xlsx，或 UTF-8、GB18030 编码的 CSV 文件"


async def _read(upload: UploadFile) -> tuple[ledgerfile.Ledger, bytes]:
    name = Path(upload.filename or "台账").name
    content = await upload.read(ledgerfile.LEDGER.max_bytes + 1)
    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder) / f"upload{suffix}"
        tmp.write_bytes(content)
        try:
            return ledgerfile.read(tmp, name), content
        except DubanError as err:
            raise DubanError(_file_refusal(str(err), tmp, name)) from None


def _shown(rows: list[assign.Checked]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        f = r.fields
        due = f.get("due")
        out.append(
            {
                "line": r.line,
                "id": f.get("id", ""),
                "title": f.get("title", ""),
                "lead_unit": f.get("lead_unit", ""),
                "co_units": "、".join(f.get("co_units") or []),
                "assigning_unit": f.get("assigning_unit", ""),
                "due": due.isoformat() if isinstance(due, date) else "",
                "urgency": URGENCY_LABELS.get(f.get("urgency", "normal"), ""),
                "problems": r.problems,
                "refusal": r.refusal,
            }
        )
    return out


def _payload(rows: list[assign.Checked]) -> list[dict[str, Any]]:
    return [
        {"line": r.line, **r.fields, "due": r.fields["due"].isoformat()}
        if isinstance(r.fields.get("due"), date)
        else {"line": r.line, **r.fields}
        for r in rows
    ]


@router.post("/office/import")
async def preview(request: Request, posted: PostedDep) -> Response:
    me = posted.me
    _office(me)
    upload = posted.form.get("file")
    policy = str(posted.form.get("policy", "default"))
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(request, me, "/office#import", "refused", "请选择要导入的台账文件。")
    try:
        ledger, content = await _read(upload)
    except DubanError as err:
        return back(request, me, "/office#import", "refused", str(err))
    rows = assign.check_ledger(ledger, content, me.directory, me.today, me.person, policy)
    await assign.already(door(request).pool, rows, door(request).client)
    bad = assign.refused(rows)
    signed = ""
    if not bad:
        signer = pages.sessions(request).signer("import")
        signed = signer.dumps({"person": me.person, "name": ledger.name, "rows": _payload(rows)})
    context = {
        "heading": "导入台账",
        "me": me,
        "here": "office",
        "wide": True,
        "name": ledger.name,
        "rows": _shown(rows),
        "bad": bad,
        "unread": ledger.unread,
        "signed": signed,
        "digest": hashlib.sha256(content).hexdigest()[:12],
    }
    return render(request, "import.html", context, 422 if bad else 200)


async def _in_ledger(pool: asyncpg.Pool, ids: list[str]) -> None:
    """Wait (briefly) until the new tasks are in the ledger, so 我的任务 shows them."""
    loop = asyncio.get_running_loop()
    until = loop.time() + LEDGER_WAIT
    while loop.time() < until:
        if await pool.fetchval("SELECT count(*) FROM tasks WHERE id = ANY($1)", ids) >= len(ids):
            return
        await asyncio.sleep(0.1)


@router.post("/office/import/start")
async def start(request: Request, posted: PostedDep) -> Response:
    me = posted.me
    _office(me)
    signer = pages.sessions(request).signer("import")
    try:
        data = signer.loads(str(posted.form.get("rows", "")), max_age=PREVIEW_AGE)
    except BadSignature:
        return back(request, me, "/office#import", "refused", "预览已失效，请重新上传台账。")
    if data.get("person") != me.person:
        return back(request, me, "/office#import", "refused", "预览已失效，请重新上传台账。")
    rows = []
    for item in data["rows"]:
        fields = {k: v for k, v in item.items() if k != "line"}
        if fields.get("due"):
            fields["due"] = date.fromisoformat(fields["due"])
        rows.append(assign.check(fields, item["line"], me.directory, me.today, me.person))
    d = door(request)
    await assign.already(d.pool, rows, d.client)
    bad = assign.refused(rows)
    if bad:
        said = f"第 {bad[0].line} 行：{bad[0].refusal}；未导入任何任务，请重新上传。"
        return back(request, me, "/office#import", "refused", said)
    try:
        ids = await assign.start_all(d.client, rows, d.task_queue, me.person)
    except DubanError as err:
        log.warning("office: import stopped", error=str(err))
        return back(request, me, "/office#import", "refused", "导入未能完成，请稍后再试。")
    log.info("office: ledger imported", name=data.get("name"), tasks=len(ids), person=me.person)
    await _in_ledger(d.pool, ids)
    said = f"已导入 {data.get('name')}：交办 {len(ids)} 项任务。"
    return redirect(request, "/desk", me.session.with_flash("done", said))
