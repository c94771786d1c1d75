"""The desk's reads of the ledger in PostgreSQL: the tasks a person works on, with the
matters their events leave open, in three queries however many tasks there are (never a
workflow query per task); and one task's timeline and notices."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from activities.directory import Seat
from starter.http.offers import LedgerTask
from workflows.names import EventKind
from workflows.policy import Policy

LIMIT = 300  # tasks on one desk; the board is for more
OPEN = "t.stage NOT IN ('closed', 'withdrawn')"
WORK_ROLES = frozenset({"unit_head", "member"})
LEADERS = frozenset({"deputy_secretary_general", "leader_in_charge"})
# The events that open and close a matter, and suspend and resume the task.
PAIRS = {
    "difficulty": (EventKind.DIFFICULTY_REPORTED, (EventKind.DIFFICULTY_ANSWERED,)),
    "extension": (
        EventKind.EXTENSION_REQUESTED,
        (EventKind.EXTENSION_APPROVED, EventKind.EXTENSION_REFUSED),
    ),
    "disagreement": (EventKind.DISAGREEMENT_RAISED, (EventKind.DISAGREEMENT_RESOLVED,)),
    "suspended": (EventKind.SUSPENDED, (EventKind.RESUMED,)),
}
_KINDS = [k.value for opened, closed in PAIRS.values() for k in (opened, *closed)]

_MINE = f"""
SELECT t.* FROM tasks t
WHERE {OPEN} AND (
    t.lead_unit = ANY($1) OR t.co_units && $1 OR t.assigning_unit = ANY($1)
    OR (t.escalation_level > 0 AND (t.lead_unit = ANY($2) OR $3))
    OR ($4 AND (t.stage = 'completed' OR EXISTS (
        SELECT 1 FROM task_events e WHERE e.task_id = t.id AND e.kind = ANY($5))))
)
ORDER BY CASE t.light WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 WHEN 'green' THEN 2 ELSE 3 END,
         t.next_deadline NULLS LAST, t.id
LIMIT {LIMIT}
"""


@dataclass(frozen=True)
class Reach:
    """The units a person works for, watches as a leader, or the office's whole view."""

    work: list[str]
    watch: list[str]
    principal: bool
    office: bool

    @staticmethod
    def of(seats: list[Seat]) -> Reach:
        return Reach(
            work=sorted({s.unit for s in seats if s.role in WORK_ROLES}),
            watch=sorted({s.unit for s in seats if s.role in LEADERS}),
            principal=any(s.role == "principal_leader" for s in seats),
            office=any(s.role == "office" for s in seats),
        )


def policy_of(row: dict[str, Any]) -> Policy:
    raw = row["policy"]
    return Policy.model_validate(json.loads(raw) if isinstance(raw, str) else raw)


def approver_of(row: dict[str, Any], policy: Policy) -> str:
    named = policy.extension_approver
    return str(row["assigning_unit"]) if named == "assigning_unit" else named


def level_role(row: dict[str, Any], policy: Policy) -> str | None:
    level = row["escalation_level"]
    if not level:
        return None
    ladder = policy.ladder_for(row["current_urgency"] or row["urgency"])
    role: str = ladder[min(level, len(ladder)) - 1].level
    return role


async def my_tasks(pool: asyncpg.Pool, reach: Reach) -> list[tuple[LedgerTask, Policy]]:
    """The open tasks of the person's units (lead, co-unit, assigning), those escalated in
    the units they watch, and for the office those awaiting it; most urgent first."""
    rows = [
        dict(r)
        for r in await pool.fetch(
            _MINE,
            reach.work,
            reach.watch,
            reach.principal,
            reach.office,
            [EventKind.DIFFICULTY_REPORTED.value, EventKind.EXTENSION_REQUESTED.value],
        )
    ]
    return await with_matters(pool, rows)


async def with_matters(
    pool: asyncpg.Pool, rows: list[dict[str, Any]]
) -> list[tuple[LedgerTask, Policy]]:
    ids = [r["id"] for r in rows]
    latest: dict[tuple[str, str], int] = {
        (r["task_id"], r["kind"]): r["seq"]
        for r in await pool.fetch(
            "SELECT task_id, kind, max(seq) AS seq FROM task_events "
            "WHERE task_id = ANY($1) AND kind = ANY($2) GROUP BY task_id, kind",
            ids,
            _KINDS,
        )
    }
    signed: dict[str, frozenset[str]] = {
        r["task_id"]: frozenset(r["units"])
        for r in await pool.fetch(
            "SELECT task_id, array_agg(DISTINCT unit) AS units FROM task_events "
            "WHERE task_id = ANY($1) AND kind = $2 AND unit IS NOT NULL GROUP BY task_id",
            ids,
            EventKind.CO_RECEIVED.value,
        )
    }

    def open_(task_id: str, what: str) -> bool:
        opened, closed = PAIRS[what]
        last_closed = max((latest.get((task_id, k.value), 0) for k in closed), default=0)
        return latest.get((task_id, opened.value), 0) > last_closed

    out = []
    for r in rows:
        policy = policy_of(r)
        out.append(
            (
                LedgerTask(
                    row=r,
                    co_signed=signed.get(r["id"], frozenset()),
                    difficulty=open_(r["id"], "difficulty"),
                    extension=open_(r["id"], "extension"),
                    disagreement=open_(r["id"], "disagreement"),
                    suspended=open_(r["id"], "suspended"),
                    level_role=level_role(r, policy),
                ),
                policy,
            )
        )
    return out


async def task_row(pool: asyncpg.Pool, task_id: str) -> dict[str, Any] | None:
    row = await pool.fetchrow("SELECT * FROM tasks WHERE id = $1", task_id)
    return dict(row) if row is not None else None


async def notices(pool: asyncpg.Pool, task_id: str) -> list[dict[str, Any]]:
    """The task's notices as the outbox has them: to whom, by which channel, and whether
    each arrived."""
    rows = await pool.fetch(
        "SELECT seq, role, unit, channel, kind, level, status, attempts, created_at, "
        "delivered_at, person_id, reached_via FROM notifications WHERE task_id = $1 "
        "ORDER BY seq, role, unit, channel",
        task_id,
    )
    return [dict(r) for r in rows]
