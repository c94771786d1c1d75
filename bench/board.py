"""Scenario 6: the board with 10,000 tasks (issue 15 §3: it renders within a second). The
ledger's rows are written straight into PostgreSQL (COPY): a year of an office's tasks as
the workflow records them, over 20 lead units and 3 assigning units, a fifth of them late
(missed, climbed, some to the top), some with a difficulty the office answered, a third
closed, a few notices that did not arrive. Then `duban serve`, in a process of its own,
is asked by the office, signed in to the pages as a browser would: GET /board for the year
and for the quarter, and the year's and the quarter's workbook, one request after another;
p50/p99 of each, client side, whole answer read. The first request of each is a warm-up
and not counted."""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from activities import directory as store
from activities import identity
from activities.directory import Directory, Person
from activities.periods import Period
from bench.stack import Stack, duban_serve
from bench.stats import summary
from workflows.policy import BUILTIN
from workflows.windows import LABELS, OFFICE_TZ

UNITS = [f"区第{i:02d}局" for i in range(1, 21)]
ASSIGNING = ["区政府办公室", "区委办公室", "区发改委"]
OFFICE = "bench.office"
TASK_COLUMNS = (
    *("id", "title", "source", "assigning_unit", "lead_unit", "co_units", "standard", "due"),
    *("urgency", "policy", "stage", "escalation_level", "next_deadline", "last_seq"),
    *("created_at", "updated_at", "light", "current_urgency", "current_due"),
    "calendar_fallback",
)
EVENT_COLUMNS = (
    *("task_id", "seq", "at", "kind", "stage", "unit", "actor", "detail", "level"),
    "deadline",
)
ESCALATION_COLUMNS = ("task_id", "seq", "level", "kind", "unit", "at", "answer_by")
NOTICE_COLUMNS = (
    *("task_id", "seq", "role", "unit", "channel", "kind", "level", "body"),
    *("status", "last_error"),
)


class Rows:
    """One task's rows, its events numbered as the workflow numbers them."""

    def __init__(self, task_id: str) -> None:
        self.id = task_id
        self.events: list[tuple[Any, ...]] = []
        self.escalations: list[tuple[Any, ...]] = []
        self.notices: list[tuple[Any, ...]] = []

    def add(self, at: datetime, kind: str, unit: str, level: int = 0, **kw: Any) -> int:
        seq = len(self.events) + 1
        detail = kw.get("detail", "")
        stage = kw.get("stage", "in_progress")
        self.events.append(
            (self.id, seq, at, kind, stage, unit, None, detail, level, kw.get("deadline"))
        )
        return seq


def _task(i: int, rng: random.Random, year_start: datetime, now: datetime) -> tuple[Any, Rows]:
    task_id = f"T-BOARD-{i:05d}"
    lead, assigning = UNITS[i % len(UNITS)], ASSIGNING[i % len(ASSIGNING)]
    urgency = rng.choices(["normal", "important", "urgent"], [70, 20, 10])[0]
    span = (now - year_start - timedelta(days=20)).total_seconds()
    created = year_start + timedelta(seconds=rng.uniform(0, span))
    r = Rows(task_id)
    r.add(created, "assigned", assigning, stage="assigned")
    deadline = created + timedelta(days=7)
    r.add(created, "deadline_set", lead, deadline=deadline, detail="签收：7 个工作日")
    fate = rng.random()
    closed, late = fate < 0.33, rng.random() < 0.2
    at = created + timedelta(days=rng.uniform(1, 6))
    level = 0
    if late:
        r.add(deadline, "missed", lead, detail="签收已逾期")
        for level in range(1, rng.choice([1, 1, 2, 3]) + 1):
            climb_at = deadline + timedelta(days=level - 1)
            seq = r.add(climb_at, "escalated", lead, level, deadline=climb_at + timedelta(days=1))
            r.escalations.append((task_id, seq, level, "escalated", lead, climb_at, None))
            status = rng.choices(["delivered", "failed", "no_channel"], [90, 6, 4])[0]
            role = ("lead_unit", "deputy_secretary_general", "principal_leader")[level - 1]
            error = "503 Service Unavailable" if status == "failed" else None
            r.notices.append(
                (task_id, seq, role, lead, "wecom", "escalation", level, "", status, error)
            )
        at = deadline + timedelta(days=rng.uniform(1, 8))
    if rng.random() < 0.05:
        r.add(at, "difficulty_reported", lead, detail="经费未落实")
        r.add(at, "matter_opened", assigning, detail=LABELS["difficulty"] + "：请办公室答复")
        at += timedelta(days=rng.uniform(0.5, 4))
        r.add(at, "difficulty_answered", assigning, detail="继续执行")
    stage, light = "in_progress", "green"
    if closed or not late:
        r.add(at, "received", lead, stage="received")
        level = 0
    if closed:
        at += timedelta(days=rng.uniform(3, 10))
        r.add(at, "reported_completion", lead, stage="completed")
        at += timedelta(days=rng.uniform(0.1, 3))
        if at < now:
            r.add(at, "verified", assigning, stage="closed")
            stage = "closed"
    if stage != "closed":
        if late and level:
            light = "red"
        else:
            light = rng.choices(["green", "yellow", "red", "grey"], [70, 15, 10, 5])[0]
    next_deadline = None if stage == "closed" else now + timedelta(days=rng.uniform(-2, 20))
    due = (created + timedelta(days=60)).date() if rng.random() < 0.5 else None
    row = (
        task_id,
        f"督办事项第{i}号",
        "区政府常务会议纪要",
        assigning,
        lead,
        [UNITS[(i + 7) % len(UNITS)]],
        "按期完成",
        due,
        urgency,
        BUILTIN["default"].model_dump_json(),
        stage,
        level if light == "red" else 0,
        next_deadline,
        len(r.events),
        created,
        r.events[-1][2],
        light,
        urgency,
        due,
        False,
    )
    return row, r


async def seed(stack: Stack, n: int, now: datetime) -> dict[str, int]:
    rng = random.Random(15)
    year_start = datetime(now.astimezone(OFFICE_TZ).year, 1, 1, tzinfo=OFFICE_TZ)
    tasks, events, escalations, notices = [], [], [], []
    for i in range(n):
        row, r = _task(i, rng, year_start, now)
        tasks.append(row)
        events += r.events
        escalations += r.escalations
        notices += r.notices
    async with stack.pool.acquire() as conn, conn.transaction():
        await conn.copy_records_to_table("tasks", records=tasks, columns=TASK_COLUMNS)
        await conn.copy_records_to_table("task_events", records=events, columns=EVENT_COLUMNS)
        await conn.copy_records_to_table(
            "escalations", records=escalations, columns=ESCALATION_COLUMNS
        )
        await conn.copy_records_to_table("notifications", records=notices, columns=NOTICE_COLUMNS)
    await stack.pool.execute("ANALYZE")
    return {"tasks": len(tasks), "events": len(events), "notifications": len(notices)}


@contextlib.asynccontextmanager
async def _office(stack: Stack, now: datetime) -> AsyncIterator[str]:
    """The directory gets an office clerk (办公室) with a personal token, for the board's
    time; then it is as it was. The other scenarios' notices go to each role's channel as
    with no directory imported: left behind, a directory holding the office alone would
    refuse every other role's notices (nobody holds it), and no later storm would end."""
    directory = await store.load(stack.pool)
    people = dict(directory.people)
    people[OFFICE] = Person(OFFICE, "督查室", mobile="13900000000")
    holders = {**directory.holders, ("office", "*"): OFFICE}
    units = set(directory.units) | set(UNITS) | set(ASSIGNING)
    merged = Directory(people, units, holders, list(directory.absences), set(directory.members))
    await store.replace(stack.pool, merged)
    token, _ = await identity.issue(stack.pool, OFFICE, 1, "bench", now)
    try:
        yield token
    finally:
        await store.replace(stack.pool, directory)


async def _sign_in(http: httpx.AsyncClient, token: str) -> None:
    form = await http.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if not csrf:
        raise RuntimeError(f"GET /login: no sign-in form ({form.status_code})")
    done = await http.post("/login", data={"csrf": csrf[1], "next": "/board", "token": token})
    if done.status_code != 303:
        raise RuntimeError(f"POST /login: {done.status_code} {done.text[:200]}")


async def _timed(http: httpx.AsyncClient, path: str, times: int) -> dict[str, Any]:
    took: list[float] = []
    size = 0
    for i in range(times + 1):
        t0 = time.perf_counter()
        answer = await http.get(path)
        body = answer.content
        elapsed = time.perf_counter() - t0
        if answer.status_code != 200:
            raise RuntimeError(f"GET {path}: {answer.status_code} {answer.text[:200]}")
        if i:  # the first is a warm-up
            took.append(elapsed)
        size = len(body)
    return {**summary(took), "bytes": size}


async def run(stack: Stack, n: int = 10_000, times: int = 30) -> dict[str, Any]:
    now = datetime.now(UTC)
    seeded = await seed(stack, n, now)
    today = now.astimezone(OFFICE_TZ).date()
    year, quarter = Period.containing(today, "year"), Period.containing(today, "quarter")
    out: dict[str, Any] = {"seeded": seeded}
    async with (
        _office(stack, now) as token,
        duban_serve(stack, "bench-board") as served,
        httpx.AsyncClient(base_url=served.url, timeout=120) as http,
    ):
        await _sign_in(http, token)
        out["page_year"] = await _timed(http, f"/board?period={year.key}", times)
        out["page_quarter"] = await _timed(http, f"/board?period={quarter.key}", times)
        xlsx = "/board/report.xlsx?period="
        out["xlsx_year"] = await _timed(http, xlsx + year.key, max(5, times // 3))
        out["xlsx_quarter"] = await _timed(http, xlsx + quarter.key, max(5, times // 3))
    return out
