"""The desk (issue 15 §2): 我的任务, a task's page, and the messages sent from them.

我的任务 reads the ledger (starter.http.ledger_view): the open tasks of the person's units,
with light, stage, what is expected next and the next deadline in working days; a task's
page adds its timeline, its deadlines with their rules (the task's own state, one query)
and its notices as the outbox has them. A message posted from either goes through the
same authz.decide and commands.send_message as the API's, the actor via `page`."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import date
from typing import Any

import asyncpg
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities import authz
from activities.ledger import task_history
from starter import commands
from starter.http import ledger_view, offers, words
from starter.http.auth import door
from starter.http.links import in_chinese
from starter.http.pages import Me, MeDep, PageRefused, PostedDep, back, now, render
from workflows.contracts import Actor, Message, TaskState
from workflows.errors import DubanError
from workflows.limits import MAX_TEXT
from workflows.names import Stage, Via
from workflows.policy import ROLE_LABELS
from workflows.windows import LABELS, MATTER_LABELS, PLANS

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
NOT_FOUND = "任务不存在，或您无权查看。"
RECORD_WAIT = 3.0  # seconds a page waits for the ledger to have a message just accepted


def _who(me: Me, person: str | None) -> str:
    if not person:
        return ""
    found = me.directory.people.get(person)
    return found.name if found else person


def expected(row: dict[str, Any], suspended: bool, level_role: str | None) -> str:
    """What the task waits for now, and from whom: 区司法局报送部署情况."""
    stage = Stage(row["stage"])
    if suspended:
        return "已暂停执行，待办公室恢复"
    plan = PLANS.get(stage)
    if plan is None:
        return ""
    unit = row["assigning_unit"] if plan.owner_unit == "assigning" else row["lead_unit"]
    said = f"{unit}{plan.awaiting}"
    if row["escalation_level"] and level_role:
        said += f"（已升级至第 {row['escalation_level']} 级：{ROLE_LABELS[level_role]}）"
    return said


def _relation(row: dict[str, Any], me: Me) -> str:
    """How the person stands to the task: 牵头, 协办, 交办, or 督办 (a leader watching)."""
    units = {s.unit for s in me.seats if s.role in ledger_view.WORK_ROLES}
    if row["lead_unit"] in units:
        return "牵头"
    if units & set(row["co_units"]):
        return "协办"
    if row["assigning_unit"] in units or me.office:
        return "交办"
    return "督办"


@router.get("/desk")
async def desk(request: Request, me: MeDep) -> Response:
    pool = door(request).pool
    reach = ledger_view.Reach.of(me.seats)
    tasks = await ledger_view.my_tasks(pool, reach)
    at = now()
    clock = await words.Clock.load(pool, at, [t.row["next_deadline"] for t, _ in tasks])
    cards = []
    for task, policy in tasks:
        row = task.row
        left, late = clock.left(row["next_deadline"])
        approver = ledger_view.approver_of(row, policy)
        shown = offers.for_ledger(task, approver, me.directory, me.person, me.today)
        if not reach.work and not shown and not row["escalation_level"]:
            continue  # the office's view: only what awaits someone
        cards.append(
            {
                "id": row["id"],
                "title": row["title"],
                "light": "grey" if task.suspended else row["light"],
                "stage": words.STAGE_LABELS.get(row["stage"], row["stage"]),
                "urgency": words.URGENCY_LABELS.get(task.urgency, ""),
                "relation": _relation(row, me),
                "lead_unit": row["lead_unit"],
                "expected": expected(row, task.suspended, task.level_role),
                "deadline": words.local(row["next_deadline"]),
                "left": left,
                "late": late,
                "offers": shown,
            }
        )
    context = {
        "heading": "我的任务",
        "me": me,
        "here": "desk",
        "cards": cards,
        "lights": words.LIGHT_LABELS,
        "once": secrets.token_urlsafe(12),
        "back": "/desk",
        "max_text": MAX_TEXT,
    }
    return render(request, "desk.html", context)


def _deadlines(state: TaskState, clock: words.Clock) -> list[dict[str, Any]]:
    """Every pending deadline with the rule and calendar that set it, in Chinese."""
    out = []
    w = state.window
    terminal = state.stage in (Stage.CLOSED, Stage.WITHDRAWN)
    if w is not None and not terminal:
        what = f"{w.owner_unit}{LABELS.get(w.name, w.name)}"
        out.append((what, w.deadline, w.rule, w.missed))
        if state.escalation_level and state.level_deadline:
            what = f"第 {state.escalation_level} 级督办答复"
            out.append((what, state.level_deadline, "督办升级的答复期限", False))
    for m in state.matters:
        if not m.resolved and m.deadline is not None:
            role = ROLE_LABELS.get(m.ladder[m.level][0], "")
            what = f"{m.raised_by}提出的{MATTER_LABELS[m.kind]}：{role}答复"
            out.append((what, m.deadline, m.rule, m.missed))
    rows = []
    for what, at, rule, missed in out:
        left, late = clock.left(at)
        late = late or missed
        rows.append({"what": what, "at": words.local(at), "rule": rule, "left": left, "late": late})
    return rows


def _timeline(me: Me, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for e in events:
        how = [words.ROLES.get(e["role"] or "", e["role"] or "")]
        how.append(words.VIA.get(e["via"] or "", ""))
        if e["stand_in_for"]:
            how.append(f"缺位递补，代{_who(me, e['stand_in_for'])}")
        rows.append(
            {
                "seq": e["seq"],
                "at": words.local(e["at"]),
                "what": words.EVENTS.get(e["kind"], e["kind"]),
                "unit": e["unit"] or "",
                "who": _who(me, e["actor"]),
                "how": "，".join(h for h in how if h),
                "detail": e["detail"],
                "deadline": words.local(e["deadline"]),
            }
        )
    return rows


NOTICE_KINDS = {
    "escalation": "督办升级",
    "copy": "抄送",
    "reminder": "督办提醒",
    "warning": "临期预警",
    "matter": "待答复事项",
    "info": "通知",
    "received": "签收告知",
    "contribution": "协办情况",
    "undelivered": "未送达告知",
    "stalled": "提醒已满告知",
}


def _notices(me: Me, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for n in rows:
        state, tone = words.NOTICE_STATES.get(n["status"], (n["status"], "wait"))
        whom = f"{n['unit']}{words.ROLES.get(n['role'], '')}" if n["unit"] else ""
        if n["person_id"]:
            whom += f"（{_who(me, n['person_id'])}"
            via = n["reached_via"] or ""
            if via.startswith("stand-in for "):
                whom += f"，缺位递补，代{_who(me, via.removeprefix('stand-in for '))}"
            whom += "）"
        out.append(
            {
                "seq": n["seq"],
                "kind": NOTICE_KINDS.get(n["kind"], "通知"),
                "whom": whom,
                "channel": words.CHANNELS.get(n["channel"], n["channel"]),
                "state": state,
                "tone": tone,
                "at": words.local(n["delivered_at"] or n["created_at"]),
            }
        )
    return out


async def _visible(request: Request, me: Me, task_id: str) -> dict[str, Any]:
    row = await ledger_view.task_row(door(request).pool, task_id)
    if row is None:
        raise PageRefused(404, "任务不存在", NOT_FOUND, me)
    facts = authz.TaskFacts(
        id=task_id,
        assigning_unit=row["assigning_unit"],
        lead_unit=row["lead_unit"],
        co_units=tuple(row["co_units"]),
    )
    if not authz.may_see(me.directory, me.person, facts, me.today):
        raise PageRefused(404, "任务不存在", NOT_FOUND, me)
    return row


@router.get("/tasks/{task_id}")
async def task_page(request: Request, me: MeDep, task_id: str) -> Response:
    d = door(request)
    row = await _visible(request, me, task_id)
    at = now()
    state: TaskState | None = None
    try:
        state, _ = await commands.show(d.client, task_id)
    except (DubanError, RPCError) as err:
        log.warning("task page: the task did not answer", task_id=task_id, error=str(err))
    [(task, _)] = await ledger_view.with_matters(d.pool, [row])
    clock = await words.Clock.load(d.pool, at, [row["next_deadline"]])
    shown = offers.for_state(state, me.directory, me.person, at, me.today) if state else []
    co_signed = set(state.co_received) if state else set(task.co_signed)
    context = {
        "heading": "任务详情",
        "me": me,
        "here": "desk",
        "wide": True,
        "task": row,
        "light": "grey" if task.suspended else row["light"],
        "lights": words.LIGHT_LABELS,
        "stage": words.STAGE_LABELS.get(row["stage"], row["stage"]),
        "urgency": words.URGENCY_LABELS.get(task.urgency, ""),
        "due": row["current_due"] or row["due"],
        "co_units": [(u, u in co_signed) for u in row["co_units"]],
        "expected": expected(row, task.suspended, task.level_role),
        "answering": state is not None,
        "deadlines": _deadlines(state, clock) if state else [],
        "offers": shown,
        "timeline": _timeline(me, await task_history(d.pool, task_id)),
        "notices": _notices(me, await ledger_view.notices(d.pool, task_id)),
        "once": secrets.token_urlsafe(12),
        "back": f"/tasks/{task_id}",
        "max_text": MAX_TEXT,
    }
    return render(request, "task.html", context)


async def recorded(pool: asyncpg.Pool, task_id: str, seq: int) -> bool:
    """Wait (briefly) until the ledger has the event the task just accepted, so the page
    the person is sent back to shows what they did. The ledger is written by the task's
    own activity a moment later; past RECORD_WAIT the page shows what it has."""
    loop = asyncio.get_running_loop()
    until = loop.time() + RECORD_WAIT
    while loop.time() < until:
        last = await pool.fetchval("SELECT last_seq FROM tasks WHERE id = $1", task_id)
        if last is not None and last >= seq:
            return True
        await asyncio.sleep(0.05)
    return False


_ONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ENGLISH = re.compile(r"[A-Za-z]{3,}")


def chinese(reason: str, task_id: str) -> str:
    """The task's one-line refusal as a page says it: the task's own words are Chinese;
    the few the service says in English are put in Chinese."""
    reason = reason.removeprefix("refused: ")
    if not _ENGLISH.search(reason.replace(task_id, "")):
        return reason
    return in_chinese(reason)


def _back(form_back: Any, task_id: str) -> str:
    return form_back if form_back in ("/desk", f"/tasks/{task_id}") else "/desk"


def _message_fields(form: offers.Form, data: Any) -> dict[str, Any] | str:
    """The message's fields from the posted form, or what is missing, in Chinese."""
    text = str(data.get("text", "")).strip()
    fields: dict[str, Any] = {"text": text, "kind": form.kind}
    if form.text_required and not text:
        return f"请填写{form.text}。"
    if form.decisions:
        decision = str(data.get("decision", ""))
        if decision not in dict(form.decisions):
            return "请选择一项答复。"
        fields["decision"] = decision
    if form.until:
        try:
            fields["until"] = date.fromisoformat(str(data.get("until", "")))
        except ValueError:
            return "请填写延期至哪一天。"
    if form.urgency:
        urgency = str(data.get("urgency", ""))
        if urgency not in ("important", "urgent"):
            return "请选择紧急程度。"
        fields["urgency"] = urgency
    return fields


def _done(form: offers.Form, fields: dict[str, Any], seq: int) -> str:
    label = "确认督办" if form.key == "ack" else form.label
    decision = dict(form.decisions).get(fields.get("decision") or "")
    said = f"已{label}" + (f"（{decision}）" if decision else "")
    return f"{said}，已记入督办台账（第 {seq} 号记录）。"


@router.post("/tasks/{task_id}/act")
async def act(request: Request, posted: PostedDep, task_id: str) -> Response:
    me, data = posted.me, posted.form
    d = door(request)
    await _visible(request, me, task_id)
    url = _back(data.get("back"), task_id)
    form = offers.FORMS.get(str(data.get("action", "")))
    if form is None:
        return back(request, me, url, "refused", "无法办理此事项。")
    fields = _message_fields(form, data)
    if isinstance(fields, str):
        return back(request, me, url, "refused", fields)
    try:
        state, _ = await commands.show(d.client, task_id)
    except commands.NoSuchTask as err:
        raise PageRefused(404, "任务不存在", NOT_FOUND, me) from err
    except (DubanError, RPCError):
        return back(request, me, url, "refused", "任务暂时无法办理，请稍后再试。")
    unit = str(data.get("unit", "")) or None
    try:
        standing = authz.decide(
            me.directory, me.person, form.action, authz.TaskFacts.of_state(state), me.today, unit
        )
    except authz.Refusal:
        return back(request, me, url, "refused", f"您不能为此任务{form.label}。")
    try:
        message = Message(
            unit=standing.unit,
            by=me.person,
            role=standing.message_role,
            actor=Actor(
                person=me.person,
                role=standing.role,
                unit=standing.unit,
                via=Via.PAGE,
                stand_in_for=standing.stand_in_for,
            ),
            **fields,
        )
    except ValidationError:
        return back(request, me, url, "refused", "填写的内容无法办理，请检查后重试。")
    once = str(data.get("once", ""))
    ok = _ONCE.match(once)
    update_id = f"page:{me.session.sid}:{once}:{form.key}" if ok else None
    try:
        accepted = await commands.send_message(
            d.client, task_id, form.action.value, message, update_id=update_id
        )
    except commands.TaskBusy:
        return back(request, me, url, "refused", "任务正忙，请稍后再试。")
    except DubanError as err:
        return back(request, me, url, "refused", f"未能办理：{chinese(str(err), task_id)}")
    except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        log.warning("page: message not answered", task_id=task_id, error=str(err))
        return back(request, me, url, "refused", "任务暂时无法办理，请稍后再试。")
    assert accepted is not None
    log.info("page: message accepted", task_id=task_id, action=form.key, person=me.person)
    await recorded(d.pool, task_id, accepted.seq)
    return back(request, me, url, "done", _done(form, fields, accepted.seq))
