"""The board (看板, issue 15 §3) for the office and the leaders: `GET /board` the page,
`GET /board/report.xlsx` the period's assessment workbook, `GET /api/board` the same figures
as JSON for a token. Everything is read from the ledger in PostgreSQL (activities.board,
activities.accountability), never from a workflow; who sees which tasks is
activities.authz.visible_units: the office and the principal leader every task, a deputy
secretary-general or a leader in charge the units they cover.

The charts are drawn in the browser by Chart.js, served from the package
(static/chart.umd.min.js, vendored with its licence; static/VENDORED.md) and fed by a JSON
block the page carries: no CDN, no inline script (the pages' CSP allows scripts from 'self'
only). Every figure is also in a table beside its chart, so the page reads without them."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from activities import authz
from activities.accountability import Accountability, accountability
from activities.assessment import file_name, workbook
from activities.board import LIGHTS, Board, Filters, assigning_units, board
from activities.directory import Directory
from activities.periods import KIND_LABELS, Period, PeriodError
from starter.http.auth import CallerDep, door
from starter.http.errors import ApiError
from starter.http.pages import HEADERS, MeDep, PageRefused, render
from workflows.policy import ROLE_LABELS
from workflows.windows import LIGHT_LABELS, STAGE_LABELS, URGENCY_LABELS, local

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["board"])

# Who the board is for: the office and the leaders (docs/procedure.md).
BOARD_ROLES = frozenset(
    {"office", "principal_leader", "deputy_secretary_general", "leader_in_charge"}
)
NOT_YOURS = "看板供办公室和领导查看；您可在“我的任务”中查看本单位的任务。"
LIGHT_WORDS = {**LIGHT_LABELS, "closed": "已办结"}
NOTICE_STATUS = {"failed": "发送失败", "no_channel": "无可用渠道"}
CHANNELS = {
    "webhook": "接口推送",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "feishu": "飞书",
    "sms": "短信",
    "email": "电子邮件",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@functools.cache
def closing_time() -> time:
    from worker.client import settings

    return settings().closing_time


class Refused(Exception):
    """A board asked for wrongly, or by one it is not for: the page says it in Chinese, the
    API in the API's words."""

    def __init__(self, status: int, page: str, api: str) -> None:
        super().__init__(page)
        self.status, self.page, self.api = status, page, api


@dataclass(frozen=True)
class Asked:
    period: Period
    assigning: str | None
    urgency: str | None


def asked(period: str | None, assigning: str | None, urgency: str | None, today: date) -> Asked:
    """The filters as the page or the API was asked."""
    try:
        chosen = Period.parse(period) if period else Period.containing(today, "quarter")
    except PeriodError as err:
        page = "时段写法不对：请写 2026-11（月）、2026-Q4（季度）或 2026（年）"
        raise Refused(400, page, str(err)) from None
    if urgency and urgency not in URGENCY_LABELS:
        page = "紧急程度只能是一般、重要或紧急"
        raise Refused(400, page, f"urgency {urgency!r}: use normal, important or urgent")
    return Asked(chosen, (assigning or "").strip() or None, urgency or None)


def viewer(directory: Directory, person: str, today: date) -> frozenset[str] | None:
    """The units whose tasks `person` sees on the board; refused if it is not for them."""
    if not any(s.role in BOARD_ROLES for s in directory.seats(person, today)):
        api = f"{person} may not see the board: it is for the office and the leaders"
        raise Refused(403, NOT_YOURS, api)
    return authz.visible_units(directory, person, today)


async def figures(
    request: Request, person: str, directory: Directory, today: date, q: Asked
) -> tuple[Board, Accountability, frozenset[str] | None]:
    units = viewer(directory, person, today)
    pool = door(request).pool
    filters = Filters(q.period, q.assigning, q.urgency, units)
    at = datetime.now(UTC)
    # Two connections, two snapshots read side by side: PostgreSQL does both at once.
    seen, counted = await asyncio.gather(
        board(pool, filters, at), accountability(pool, filters, at, closing_time())
    )
    return seen, counted, units


def periods_offered(today: date, chosen: Period) -> list[tuple[str, str]]:
    """The periods the page offers: this year's months and quarters so far, and two years."""
    offered: list[Period] = []
    for kind in ("month", "quarter", "year"):
        p = Period.containing(today, kind)
        back = {"month": 12, "quarter": 8, "year": 3}[kind]
        for _ in range(back):
            offered.append(p)
            p = p.previous()
    if chosen not in offered:
        offered.insert(0, chosen)
    return [(p.key, f"{KIND_LABELS[p.kind]} · {p.label}") for p in offered]


def chart_data(seen: Board, counted: Accountability) -> dict[str, Any]:
    """What board.js draws: lights by unit, the ladder, on-time rates, late days."""
    units = [u["unit"] for u in seen.units]
    rated = [u for u in counted.units if u.closed]
    late = [u for u in counted.units if u.own_late_days or u.waited_days]
    return {
        "lights": {
            "units": units,
            "series": [
                {"key": k, "label": LIGHT_WORDS[k], "values": [u[k] for u in seen.units]}
                for k in (*LIGHTS, "closed")
            ],
        },
        "ladder": {
            "labels": [f"第{r['level']}级 {ROLE_LABELS.get(r['role'], '')}" for r in seen.ladder],
            "values": [r["tasks"] for r in seen.ladder],
        },
        "rate": {
            "units": [u.unit for u in rated],
            "values": [round(100 * (u.on_time_rate or 0), 1) for u in rated],
        },
        "late": {
            "units": [u.unit for u in late],
            "own": [u.own_late_days for u in late],
            "waited": [u.waited_days for u in late],
        },
    }


def refusal(err: Refused, me: Any) -> PageRefused:
    heading = "无权查看看板" if err.status == 403 else "查询条件有误"
    return PageRefused(err.status, heading, err.page, me)


def _when(value: datetime | None) -> str:
    return local(value) if value else "—"


@router.get("/board", response_class=HTMLResponse)
async def board_page(
    request: Request,
    me: MeDep,
    period: str | None = None,
    assigning: str | None = None,
    urgency: str | None = None,
) -> Response:
    try:
        q = asked(period, assigning, urgency, me.today)
        seen, counted, units = await figures(request, me.person, me.directory, me.today, q)
    except Refused as err:
        raise refusal(err, me) from None
    query = {"assigning": q.assigning or "", "urgency": q.urgency or ""}
    quarter = Period.containing(q.period.start, "quarter")
    year = Period.containing(q.period.start, "year")
    context = {
        "me": me,
        "here": "board",
        "wide": True,
        "heading": "看板",
        "q": q,
        "query": query,
        "board": seen,
        "totals": seen.totals,
        "counted": counted,
        "periods": periods_offered(me.today, q.period),
        "assigning_units": await assigning_units(door(request).pool, units),
        "urgencies": URGENCY_LABELS,
        "charts": chart_data(seen, counted),
        "downloads": [(quarter, "季度考核表"), (year, "年度考核表")],
        "lights": LIGHTS,
        "light_words": LIGHT_WORDS,
        "stages": STAGE_LABELS,
        "roles": ROLE_LABELS,
        "notice_status": NOTICE_STATUS,
        "channels": CHANNELS,
        "when": _when,
        "at": local(seen.at),
    }
    return render(request, "board.html", context)


@router.get("/board/report.xlsx")
async def board_report(
    request: Request,
    me: MeDep,
    period: str | None = None,
    assigning: str | None = None,
    urgency: str | None = None,
) -> Response:
    try:
        q = asked(period, assigning, urgency, me.today)
        units = viewer(me.directory, me.person, me.today)
    except Refused as err:
        raise refusal(err, me) from None
    filters = Filters(q.period, q.assigning, q.urgency, units)
    data = await workbook(door(request).pool, filters, datetime.now(UTC), closing_time())
    headers = {
        **{k: v for k, v in HEADERS.items() if k != "Content-Security-Policy"},
        "Content-Disposition": f'attachment; filename="{file_name(q.period)}"',
    }
    return Response(data, media_type=XLSX, headers=headers)


@api.get("/api/board")
async def board_api(
    request: Request,
    who: CallerDep,
    period: str | None = None,
    assigning_unit: str | None = None,
    urgency: str | None = None,
) -> JSONResponse:
    """The board's figures: lights by lead unit, the ladder, the overdue and escalated
    tasks, the notices that did not arrive, and each unit's accountability for the period
    (`2026-11`, `2026-Q4` or `2026`; the current quarter by default). For the office and the
    leaders; each sees the tasks of the units they cover."""
    try:
        q = asked(period, assigning_unit, urgency, who.today)
        seen, counted, _ = await figures(request, who.person, who.directory, who.today, q)
    except Refused as err:
        raise ApiError(err.status, err.api) from None
    body = seen.as_json()
    body["accountability"] = {
        "units": [
            {**vars(u), "on_time_rate": u.on_time_rate, "escalations": u.escalations}
            for u in counted.units
        ],
        "leaders": counted.leaders,
    }
    return JSONResponse(jsonable_encoder(body))
