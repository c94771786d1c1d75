"""The action link's page (issue 12 §2): `GET /a/{token}` shows the task, what is late since
when, the deadline and one button per action the link allows; `POST /a/{token}` takes the
chosen action as the person the link was made for, through the same send the API uses.

The unit and role come from the link (activities.links decided them from the directory
when the notice went) and are checked again against today's directory and the task as it
stands (activities.authz); the message's actor says `via=link`. A link is used once: it is
taken before the action goes to the task and given back if the task refuses it. The form
carries a token that must match a SameSite=Strict cookie set with the page (double
submit), and a request from another origin is refused. Used, expired and unknown links
get a page saying which (410, 410, 404) and change nothing. Every page is in Chinese."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from activities import authz, links
from activities import directory as store
from activities.calendar import WorkingCalendar, load_overrides
from activities.directory import DIRECTORY_ROLE_LABELS
from activities.links import Link
from activities.wording import how_late
from starter import commands
from starter.http.auth import door
from workflows.contracts import Actor, Message
from workflows.core import refusals
from workflows.core.refusals import DIFFICULTY_ANSWERS, EXTENSION_ANSWERS
from workflows.errors import DubanError
from workflows.limits import MAX_TEXT
from workflows.names import TERMINAL_STAGES, Action, EventKind, NoticeKind, Stage, Via
from workflows.policy import ROLE_LABELS
from workflows.windows import (
    DECISION_LABELS,
    EXPECTED,
    LABELS,
    MATTER_LABELS,
    OFFICE_TZ,
    STAGE_LABELS,
)

log = structlog.get_logger(__name__)

router = APIRouter(tags=["action links"], include_in_schema=False)
_PAGES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
    )
)
COOKIE = "duban_link"
# Pages carry a secret in their address: not cached, not framed, and never sent on as a
# referrer to another site (same-origin: the page's own form still says where it is from).
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@dataclass(frozen=True)
class Button:
    """One action on the page: its button, or its answers, and its text box if it has one."""

    name: str
    label: str
    text_label: str = ""
    text_required: bool = False
    decisions: tuple[tuple[str, str], ...] = ()


BUTTONS = {
    Action.RECEIVE: Button(Action.RECEIVE, "签收"),
    Action.ACK: Button(Action.ACK, "我已知悉并督办"),
    Action.ANSWER_DIFFICULTY: Button(
        Action.ANSWER_DIFFICULTY,
        "答复执行困难",
        text_label="答复意见（可不填）",
        decisions=tuple((d, DECISION_LABELS[d]) for d in DIFFICULTY_ANSWERS),
    ),
    Action.DECIDE_EXTENSION: Button(
        Action.DECIDE_EXTENSION,
        "审批延期申请",
        text_label="审批意见（可不填）",
        decisions=(("approve", "同意延期"), ("refuse", "不同意延期")),
    ),
    Action.RESOLVE: Button(
        Action.RESOLVE, "提交协调意见", text_label="协调意见（必填）", text_required=True
    ),
}
DONE = {
    Action.RECEIVE: "已签收",
    Action.ACK: "已确认：我已知悉并督办",
    Action.ANSWER_DIFFICULTY: "已答复执行困难",
    Action.DECIDE_EXTENSION: "已审批延期申请",
    Action.RESOLVE: "已提交协调意见",
}
HEADINGS = {
    NoticeKind.ESCALATION: "督办升级",
    NoticeKind.REMINDER: "督办提醒",
    NoticeKind.WARNING: "督办预警",
    NoticeKind.MATTER: "待您答复",
}


def _local(at: datetime | str | None) -> str:
    if at is None:
        return ""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M")


def _page(
    request: Request, name: str, status: int, context: dict[str, Any], cookie: str | None = None
) -> HTMLResponse:
    response = _PAGES.TemplateResponse(request, name, context, status_code=status, headers=HEADERS)
    if cookie is not None:
        response.set_cookie(
            COOKIE,
            cookie,
            path=request.url.path,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def _state_page(
    request: Request, status: int, heading: str, message: str, tone: str, **task: Any
) -> HTMLResponse:
    context = {"heading": heading, "message": message, "tone": tone, **task}
    return _page(request, "state.html", status, context)


async def _task(request: Request, link: Link) -> dict[str, str]:
    row = await door(request).pool.fetchrow("SELECT stage FROM tasks WHERE id = $1", link.task_id)
    stage = STAGE_LABELS.get(row["stage"], "") if row is not None else ""
    return {"title": link.facts.get("title", ""), "task_id": link.task_id, "stage": stage}


async def _not_usable(request: Request, link: Link | None, now: datetime) -> HTMLResponse | None:
    """The page for a link that cannot be used (unknown, used, expired); None if it can."""
    if link is None:
        return _state_page(
            request,
            404,
            "链接无效",
            "此链接无效：地址可能不完整或有误。请以通知中的链接为准，或与办公室联系。",
            "refused",
        )
    state = link.state(now)
    if state == "used":
        done = DONE.get(Action(link.used_action), "已办理") if link.used_action else "已办理"
        message = f"此链接已于 {_local(link.used_at)} 使用（{done}），每个链接只能使用一次。"
        return _state_page(
            request, 410, "链接已使用", message, "gone", **await _task(request, link)
        )
    if state == "expired":
        message = (
            f"此链接已于 {_local(link.expires_at)} 过期，不能再办理。如仍需办理，请与办公室联系。"
        )
        return _state_page(
            request, 410, "链接已过期", message, "gone", **await _task(request, link)
        )
    return None


async def _facts(request: Request, link: Link, now: datetime) -> list[tuple[str, str, bool]]:
    """What the page says of the notice: the window or the matter, since when it is late,
    the level, by when to answer."""
    f = link.facts
    rows: list[tuple[str, str, bool]] = []
    window, closed = f.get("window"), f.get("window_deadline")
    if window:
        rows.append(("事项", f"{f['subject_unit']}{LABELS.get(window, window)}", False))
        expected = EXPECTED.get(window, LABELS.get(window, window))
        rows.append(("时限", f"应于 {_local(closed)} 前{expected}", False))
    if window and closed:
        since = datetime.fromisoformat(closed)
        if now > since:
            calendar = WorkingCalendar()
            overrides = await load_overrides(
                door(request).pool, since.astimezone(OFFICE_TZ).date(), now.date()
            )
            late = how_late(since, now, calendar, overrides)
            rows.append(("逾期情况", f"自 {_local(since)} 起，{late}", True))
    matter = f.get("matter")
    if matter:
        rows.append(("事项", f"{f['subject_unit']}提出{MATTER_LABELS[matter]}", False))
        if f.get("said"):
            rows.append(("内容", f["said"], False))
        if matter == "extension":
            asked = await door(request).pool.fetchval(
                "SELECT detail FROM task_events WHERE task_id = $1 AND kind = $2 "
                "ORDER BY seq DESC LIMIT 1",
                link.task_id,
                EventKind.EXTENSION_REQUESTED.value,
            )
            if asked:
                rows.append(("申请", asked, False))
    if link.kind in (NoticeKind.ESCALATION, NoticeKind.REMINDER):
        role = ROLE_LABELS.get(f.get("recipient_role", ""), "")
        rows.append(("督办层级", f"第 {f.get('level')} 级（{role}）", False))
    if f.get("answer_by"):
        rows.append(("办理期限", f"请于 {_local(f['answer_by'])} 前办理", False))
    return rows


def _who(link: Link, directory: store.Directory) -> tuple[str, str]:
    """The person's name, and the name with the role they act in, for which unit, and for
    whom they stand in: 钱七（分管区司法局的副秘书长；缺位递补，代赵六）."""
    person = directory.people.get(link.person_id)
    name = person.name if person else link.person_id
    role = DIRECTORY_ROLE_LABELS.get(link.role, link.role)
    if link.unit == authz.WHOLE or link.role in ("office", "principal_leader"):
        acting = role
    elif link.role in ("deputy_secretary_general", "leader_in_charge"):
        acting = f"分管{link.unit}的{role}"
    else:
        acting = f"{link.unit}{role}"
    if link.stand_in_for:
        absent = directory.people.get(link.stand_in_for)
        acting += f"；缺位递补，代{absent.name if absent else link.stand_in_for}"
    return name, f"{name}（{acting}）"


async def _action_page(
    request: Request,
    link: Link,
    now: datetime,
    status: int = 200,
    refused: str = "",
    csrf: str | None = None,
) -> HTMLResponse:
    directory = await door(request).directory_now()
    name, who = _who(link, directory)
    task = await _task(request, link)
    facts = [("当前阶段", task["stage"], False), *await _facts(request, link, now)]
    cookie = request.cookies.get(COOKIE) or ""
    fresh = csrf is None and len(cookie) < 20  # one per link and browser: kept across reloads
    token = csrf or (secrets.token_urlsafe(24) if fresh else cookie)
    context = {
        "heading": HEADINGS.get(NoticeKind(link.kind), "督办"),
        "title": task["title"],
        "task_id": link.task_id,
        "facts": [row for row in facts if row[1]],
        "who": who,
        "person": name,
        "expires": _local(link.expires_at),
        "actions": [BUTTONS[a] for a in link.actions if a in BUTTONS],
        "csrf": token,
        "max_text": MAX_TEXT,
        "refused": refused,
    }
    return _page(request, "link.html", status, context, cookie=token if fresh else None)


@router.get("/a/{token}", response_class=HTMLResponse)
async def open_link(request: Request, token: str) -> HTMLResponse:
    now = datetime.now(UTC)
    link = await links.find(door(request).pool, token)
    gone = await _not_usable(request, link, now)
    if gone is not None:
        return gone
    assert link is not None
    return await _action_page(request, link, now)


def _same_origin(request: Request) -> bool:
    """A form posted from this service's own page: its Origin (or, without one, its
    Referer) names this host. Browsers send Origin on every cross-site POST."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser's cross-site request; the cookie still has to match
    return urlsplit(origin).netloc == request.headers.get("host", "")


@router.post("/a/{token}", response_class=HTMLResponse)
async def use_link(request: Request, token: str) -> HTMLResponse:
    now = datetime.now(UTC)
    d = door(request)
    link = await links.find(d.pool, token)
    gone = await _not_usable(request, link, now)
    if gone is not None:
        return gone
    assert link is not None
    form = await request.form()
    csrf = str(form.get("csrf", ""))
    cookie = request.cookies.get(COOKIE, "")
    if not (_same_origin(request) and cookie and hmac.compare_digest(csrf, cookie)):
        return _state_page(
            request,
            403,
            "无法确认请求来源",
            "请从通知中的链接重新打开本页后再办理。",
            "refused",
            **await _task(request, link),
        )
    try:
        action = Action(str(form.get("action", "")))
    except ValueError:
        action = None
    if action is None or action not in link.actions:
        return await _action_page(request, link, now, 400, "本链接不能办理此事项。", csrf)
    text = str(form.get("text", "")).strip()
    decision = str(form.get("decision", "")) or None
    if action in (Action.ANSWER_DIFFICULTY, Action.DECIDE_EXTENSION):
        allowed = DIFFICULTY_ANSWERS if action == Action.ANSWER_DIFFICULTY else EXTENSION_ANSWERS
        if decision not in allowed:
            return await _action_page(request, link, now, 400, "请选择一项答复。", csrf)
    return await _act(request, link, action, text, decision, now, csrf)


async def _act(
    request: Request,
    link: Link,
    action: Action,
    text: str,
    decision: str | None,
    now: datetime,
    csrf: str,
) -> HTMLResponse:
    d = door(request)

    async def refused(status: int, reason: str) -> HTMLResponse:
        return await _action_page(request, link, now, status, reason, csrf)

    directory = await d.directory_now()
    if link.person_id not in directory.people:
        return await refused(403, "您已不在人员名录中，不能通过此链接办理。")
    try:
        state, _ = await commands.show(d.client, link.task_id)
    except commands.NoSuchTask:
        return await refused(404, "任务不存在。")
    except (DubanError, RPCError) as err:
        log.warning("action link: task not answering", task_id=link.task_id, error=str(err))
        return await refused(503, "任务暂时无法办理，请稍后再试。")
    facts = authz.TaskFacts.of_state(state)
    day = now.astimezone(OFFICE_TZ).date()
    found = [
        s
        for s in authz.standings(directory, link.person_id, action, facts, day)
        if (s.unit, s.role) == (link.unit, link.role)
    ]
    if not found:
        return await refused(403, _not_theirs(link, action, facts))
    standing = found[0]
    try:
        message = Message(
            unit=standing.unit,
            by=link.person_id,
            text=text,
            role=standing.message_role,
            decision=decision,
            actor=Actor(
                person=link.person_id,
                role=standing.role,
                unit=standing.unit,
                via=Via.LINK,
                stand_in_for=standing.stand_in_for,
            ),
        )
    except ValidationError:
        return await refused(400, "填写的内容无法办理，请检查后重试。")
    if not await links.claim(d.pool, link, action, now):  # used or expired meanwhile
        again = await links.find_by_id(d.pool, link.id)
        gone = await _not_usable(request, again, datetime.now(UTC))
        assert gone is not None
        return gone
    try:
        accepted = await commands.send_message(
            d.client, link.task_id, action.value, message, update_id=f"link:{link.id}:{action}"
        )
    except commands.TaskBusy:
        await links.release(d.pool, link)
        return await refused(503, "任务暂时无法办理，请稍后再试。")
    except DubanError as err:
        await links.release(d.pool, link)
        log.info("action link refused by the task", task_id=link.task_id, reason=str(err))
        return await refused(409, f"{in_chinese(str(err))}。")
    except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        await links.release(d.pool, link)
        log.warning("action link: update not answered", task_id=link.task_id, error=str(err))
        return await refused(503, "任务暂时无法办理，请稍后再试。")
    except BaseException:
        await links.release(d.pool, link)
        raise
    assert accepted is not None
    stage = STAGE_LABELS.get(accepted.stage.value, "")
    name, _ = _who(link, directory)
    return _state_page(
        request,
        200,
        "办理成功",
        f"{name}{DONE[action]}，已记入督办台账（第 {accepted.seq} 号记录）。",
        "done",
        title=link.facts.get("title", ""),
        task_id=link.task_id,
        stage=stage,
    )


def _not_theirs(link: Link, action: Action, facts: authz.TaskFacts) -> str:
    """Why today's directory or the task no longer lets this person do it, in Chinese."""
    if action == Action.ACK and facts.level_role is None:
        return f"{refusals.not_escalated(facts.id)}。"
    if action == Action.ACK and facts.level_role != link.message_role:
        now_at = ROLE_LABELS.get(facts.level_role or "", "")
        return f"任务已到第 {facts.level} 级（{now_at}），本链接的确认已不适用。"
    if action == Action.RESOLVE and facts.disagreement_role is None:
        return f"{refusals.no_disagreement(facts.id)}。"
    role = DIRECTORY_ROLE_LABELS.get(link.role, link.role)
    return f"按今天的人员名录和任务进展，您已不能以{link.unit}{role}的身份办理此事项。"


# The one line starter.commands says in the operator's English when a task has ended and
# Temporal no longer takes its messages (the CLI prints it as it is).
_ENDED = re.compile(r"task (\S+) is (\w+); it takes no more messages")
# What a refusal tells the command line's operator to type, in full-width brackets after
# the words that say it (（--until YYYY-MM-DD）, （--role leader_in_charge）, （continue）):
# a page has its own fields and buttons for these and leaves them out.
_TO_TYPE = re.compile(r"（[^（）\u4e00-\u9fff]*[A-Za-z]{2,}[^（）\u4e00-\u9fff]*）")


def in_chinese(reason: str) -> str:
    """A refusal as a page says it. The task's own (workflows.core.refusals) and the door's
    (activities.authz) are the office's Chinese already and pass without what they tell an
    operator to type; only the service's lines for a task that has ended or is not there
    are said here."""
    said = reason.removeprefix("refused: ")
    ended = _ENDED.fullmatch(said)
    if ended is not None:
        task_id, over = ended.groups()
        if over in TERMINAL_STAGES:
            return refusals.ended(task_id, Stage(over))
        return f"任务 {task_id} 已结束，不再办理任何事项"  # terminated by an operator
    if said.startswith("no task "):
        return "任务不存在"
    return _TO_TYPE.sub("", said)
