"""The board (看板): every unit's lights, the overdue and escalated tasks, the tasks at each
level of the ladder and the notices that did not arrive, read from the ledger in PostgreSQL
in a handful of statements, never by asking a workflow.

Which tasks count: those the viewer may see (activities.authz.visible_units: the units on a
task, or every task for the office and the principal leader), filtered by assigning unit
and urgency (as it stands, raised or not), and active in the period: assigned before it
ended and, if closed, closed within it. Withdrawn tasks are left out.

The words are the ledger's, as `duban task list` shows them: a task's light is
`tasks.light` (green, yellow, red, grey) while it is open; closed is its own column; overdue
(逾期) is red, a window or an answer missed (`task list --light red`); escalated is an open
task whose climb has reached a level (`EscalationLevel > 0`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from activities.periods import Period
from activities.sql import sql_span

LIGHTS = ("green", "yellow", "red", "grey")
UNDELIVERED = ("failed", "no_channel")
LISTED = 50  # rows shown per list; the rest are counted


@dataclass(frozen=True)
class Filters:
    period: Period
    assigning_unit: str | None = None
    urgency: str | None = None
    units: frozenset[str] | None = None  # what the viewer sees; None: every task

    def args(self) -> tuple[Any, ...]:
        units = sorted(self.units) if self.units is not None else None
        return (
            self.assigning_unit,
            self.urgency,
            self.period.starts_at,
            self.period.ends_at,
            units,
        )


# The tasks a board counts ($1 assigning unit, $2 urgency, $3/$4 the period, $5 units seen).
_SCOPE = """
WITH scope AS (
    SELECT t.*, coalesce(t.current_urgency, t.urgency) AS urgency_now,
           t.stage NOT IN ('closed', 'withdrawn') AS open
    FROM tasks t
    WHERE t.stage <> 'withdrawn'
      AND ($1::text IS NULL OR t.assigning_unit = $1)
      AND ($2::text IS NULL OR coalesce(t.current_urgency, t.urgency) = $2)
      AND t.created_at < $4
      AND (t.stage <> 'closed' OR t.updated_at >= $3)
      AND ($5::text[] IS NULL OR t.assigning_unit = ANY($5) OR t.lead_unit = ANY($5)
           OR t.co_units && $5::text[])
)
"""

_BY_UNIT = (
    _SCOPE
    + """
SELECT lead_unit AS unit,
       count(*) FILTER (WHERE open AND light = 'green') AS green,
       count(*) FILTER (WHERE open AND light = 'yellow') AS yellow,
       count(*) FILTER (WHERE open AND light = 'red') AS red,
       count(*) FILTER (WHERE open AND light = 'grey') AS grey,
       count(*) FILTER (WHERE stage = 'closed') AS closed,
       count(*) FILTER (WHERE open AND escalation_level > 0) AS escalated,
       count(*) FILTER (WHERE open) AS open
FROM scope GROUP BY lead_unit
ORDER BY count(*) FILTER (WHERE open AND light = 'red') DESC, lead_unit
"""
)

# The role at each level: the ladder of the task's urgency as it stands, else the policy's.
_LADDER = (
    _SCOPE
    + """
SELECT escalation_level AS level,
       coalesce(nullif(policy -> urgency_now -> 'escalation', 'null'::jsonb),
                policy -> 'escalation') -> (escalation_level - 1) ->> 'level' AS role,
       count(*) AS tasks
FROM scope WHERE open AND escalation_level > 0
GROUP BY 1, 2 ORDER BY 1, 2
"""
)

_LIST = (
    _SCOPE
    + """
SELECT id, title, lead_unit, assigning_unit, stage, light, escalation_level, next_deadline,
       urgency_now AS urgency, count(*) OVER () AS total
FROM scope WHERE open AND {where}
ORDER BY escalation_level DESC, next_deadline NULLS LAST, id
LIMIT {limit}
"""
)

_UNDELIVERED = (
    _SCOPE
    + """
SELECT n.task_id, s.title, n.role, n.unit, n.channel, n.status, n.person_id, n.created_at,
       n.last_error, count(*) OVER () AS total
FROM notifications n JOIN scope s ON s.id = n.task_id
WHERE n.status IN ('failed', 'no_channel')
ORDER BY n.created_at DESC, n.task_id, n.seq
LIMIT {limit}
"""
)


@dataclass
class Listed:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


@dataclass
class Board:
    filters: Filters
    at: datetime
    units: list[dict[str, Any]]
    ladder: list[dict[str, Any]]
    overdue: Listed
    escalated: Listed
    undelivered: Listed

    @property
    def totals(self) -> dict[str, int]:
        keys = (*LIGHTS, "closed", "escalated", "open")
        return {k: sum(int(u[k]) for u in self.units) for k in keys}

    def as_json(self) -> dict[str, Any]:
        def listed(x: Listed) -> dict[str, Any]:
            return {"total": x.total, "rows": x.rows}

        return {
            "period": self.filters.period.key,
            "assigning_unit": self.filters.assigning_unit,
            "urgency": self.filters.urgency,
            "at": self.at.isoformat(),
            "totals": self.totals,
            "units": self.units,
            "ladder": self.ladder,
            "overdue": listed(self.overdue),
            "escalated": listed(self.escalated),
            "undelivered": listed(self.undelivered),
        }


async def _fetch(conn: Any, statement: str, args: Sequence[Any]) -> list[dict[str, Any]]:
    with sql_span(statement):
        return [dict(r) for r in await conn.fetch(statement, *args)]


def _listed(rows: list[dict[str, Any]]) -> Listed:
    total = int(rows[0]["total"]) if rows else 0
    return Listed([{k: v for k, v in r.items() if k != "total"} for r in rows], total)


async def board(pool: asyncpg.Pool, filters: Filters, at: datetime, limit: int = LISTED) -> Board:
    """The board as the ledger has it now, in one snapshot of the database."""
    args = filters.args()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        units = await _fetch(conn, _BY_UNIT, args)
        ladder = await _fetch(conn, _LADDER, args)
        overdue = await _fetch(conn, _LIST.format(where="light = 'red'", limit=limit), args)
        escalated = await _fetch(
            conn, _LIST.format(where="escalation_level > 0", limit=limit), args
        )
        undelivered = await _fetch(conn, _UNDELIVERED.format(limit=limit), args)
    return Board(
        filters,
        at,
        [{k: (v if k == "unit" else int(v)) for k, v in u.items()} for u in units],
        ladder,
        _listed(overdue),
        _listed(escalated),
        _listed(undelivered),
    )


async def assigning_units(pool: asyncpg.Pool, units: frozenset[str] | None) -> list[str]:
    """The assigning units the viewer's tasks name, for the filter's choices."""
    rows = await pool.fetch(
        "SELECT DISTINCT assigning_unit FROM tasks WHERE $1::text[] IS NULL "
        "OR assigning_unit = ANY($1) OR lead_unit = ANY($1) OR co_units && $1::text[] "
        "ORDER BY 1",
        sorted(units) if units is not None else None,
    )
    return [r["assigning_unit"] for r in rows]
