"""The board's numbers from a hand-built ledger: lights by lead unit, closed apart, the
escalated tasks and the ladder's roles, the notices that did not arrive; filtered by urgency,
assigning unit, period and the units a viewer sees, what does not match left out."""

from __future__ import annotations

import uuid

import asyncpg

from activities.board import Filters, board
from activities.periods import Period
from tests.integration.ledger_kit import Story, notice, record, t
from workflows.contracts import Light, Stage
from workflows.names import EventKind as K

NOW = t("2026-11-23 12:00")
Q4 = Period.parse("2026-Q4")


async def test_lights_ladder_and_notices(pool: asyncpg.Pool) -> None:
    office = f"区政府办公室-{uuid.uuid4().hex[:6]}"
    a, b = "区司法局", "区财政局"
    made: dict[str, str] = {}

    async def task(
        name: str,
        lead: str,
        stage: Stage = Stage.IN_PROGRESS,
        light: Light = "green",
        level: int = 0,
        urgency: str = "normal",
        when: str = "2026-11-02 09:00",
        co: tuple[str, ...] = (),
    ) -> None:
        story = Story(lead, office, urgency=urgency, co_units=co)  # type: ignore[arg-type]
        story.then(when, K.ASSIGNED, office)
        made[name] = await record(pool, story, stage, light=light, level=level)

    await task("a-green", a)
    await task("a-yellow", a, light="yellow")
    await task("a-red-1", a, light="red", level=1, urgency="urgent")
    await task("a-red-2", a, light="red", level=2)
    await task("b-grey", b, light="grey", co=("区人社局",))
    await task("b-red-3", b, light="red", level=3)
    await task("b-closed", b, Stage.CLOSED)
    await task("b-withdrawn", b, Stage.WITHDRAWN)
    await task("b-last-year", b, Stage.CLOSED, when="2025-03-02 09:00")
    await notice(pool, made["a-red-1"], 3, "failed", error="503")
    await notice(pool, made["a-red-1"], 3, "delivered", role="deputy_secretary_general")
    await notice(pool, made["b-red-3"], 7, "no_channel", role="principal_leader")

    seen = await board(pool, Filters(Q4, assigning_unit=office), NOW)
    units = {u["unit"]: u for u in seen.units}
    assert {k: units[a][k] for k in ("green", "yellow", "red", "grey", "closed", "escalated")} == {
        "green": 1,
        "yellow": 1,
        "red": 2,
        "grey": 0,
        "closed": 0,
        "escalated": 2,
    }
    assert {k: units[b][k] for k in ("green", "red", "grey", "closed", "open")} == {
        "green": 0,
        "red": 1,
        "grey": 1,
        "closed": 1,  # this period's; last year's and the withdrawn one are not counted
        "open": 2,
    }
    assert seen.totals["red"] == 3 and seen.totals["open"] == 6
    red = {made[k] for k in ("a-red-1", "a-red-2", "b-red-3")}
    assert {r["id"] for r in seen.overdue.rows} == red
    assert seen.escalated.total == 3
    # the roles at each level, from each task's ladder (urgent has its own, of the same roles)
    assert [(r["level"], r["role"], r["tasks"]) for r in seen.ladder] == [
        (1, "lead_unit", 1),
        (2, "deputy_secretary_general", 1),
        (3, "principal_leader", 1),
    ]
    assert {(n["task_id"], n["status"]) for n in seen.undelivered.rows} == {
        (made["a-red-1"], "failed"),
        (made["b-red-3"], "no_channel"),
    }
    assert seen.undelivered.total == 2

    urgent = await board(pool, Filters(Q4, office, "urgent"), NOW)
    assert [(u["unit"], u["red"]) for u in urgent.units] == [(a, 1)]
    assert urgent.undelivered.total == 1
    # A viewer who sees only 区人社局 sees the task it is a co-unit on, and nothing else.
    co_only = await board(pool, Filters(Q4, office, units=frozenset({"区人社局"})), NOW)
    assert [(u["unit"], u["grey"], u["open"]) for u in co_only.units] == [(b, 1, 1)]
    assert co_only.undelivered.total == 0
    # Last year: only the task closed then.
    last_year = await board(pool, Filters(Period.parse("2025"), office), NOW)
    assert [(u["unit"], u["closed"], u["open"]) for u in last_year.units] == [(b, 1, 0)]
    other = await board(pool, Filters(Q4, assigning_unit=office + "乙"), NOW)
    assert other.units == [] and other.undelivered.total == 0
