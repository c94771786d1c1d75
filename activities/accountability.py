"""Accountability (问责问效, S2 §9; the quarterly evaluation, S0's closing paragraph): per unit
and period, from the ledger.

- 办结 (closed): tasks the unit led whose verification (`verified`) fell in the period.
- 按期办结 (closed on time): of those, the ones whose completion report — the last
  `reported_completion` before the verification, the unit's own act — came no later than
  the time limit: the due date as it stands (an approved extension moves it) at the office's
  closing time; a task without a due date, the deadline of the window that report answered.
  The verification itself is the assigning unit's act, on the clock of its own window.
  按期办结率 = 按期办结 / 办结.
- 逾期 (misses): windows the unit owned that closed with nothing received (`missed`).
- 升级 by level: the climbs of the unit's missed windows (escalations, kind escalated).
- 执行困难, 延期申请 / 获批: the difficulties and requests for more time the unit raised,
  and the requests approved.
- 逾期工作日: the working days the unit was late on its own, apart from the days a matter on
  the task awaited the office's or a leader's answer, which are the answerer's
  (activities.lateness says how each day is owned). Working days are the office's: China's
  calendar with its make-up days, overridden by the operators' calendar table.

Every count takes the board's filters: the viewer's units, assigning unit, urgency."""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg

from activities.board import Filters
from activities.calendar import Overrides, classify, load_overrides
from activities.lateness import KINDS, Owner, Tally, tally, walk
from activities.periods import Period
from activities.sql import sql_span
from workflows.policy import Policy
from workflows.windows import OFFICE_TZ

# The tasks counted ($1 assigning unit, $2 urgency, $3 units seen).
_TASKS = """
    t.stage <> 'withdrawn'
    AND ($1::text IS NULL OR t.assigning_unit = $1)
    AND ($2::text IS NULL OR coalesce(t.current_urgency, t.urgency) = $2)
    AND ($3::text[] IS NULL OR t.assigning_unit = ANY($3) OR t.lead_unit = ANY($3)
         OR t.co_units && $3::text[])
"""

_CLOSED = f"""
SELECT t.id, t.title, t.lead_unit AS unit, v.at AS closed_at, c.at AS reported_at,
       coalesce(t.current_due, t.due) AS due, w.deadline AS window_deadline
FROM task_events v
JOIN tasks t ON t.id = v.task_id
LEFT JOIN LATERAL (
    SELECT at, seq FROM task_events c
    WHERE c.task_id = v.task_id AND c.kind = 'reported_completion' AND c.seq < v.seq
    ORDER BY c.seq DESC LIMIT 1) c ON true
LEFT JOIN LATERAL (
    SELECT deadline FROM task_events d
    WHERE d.task_id = v.task_id AND d.kind IN ('deadline_set', 'replanned', 'resumed')
      AND d.deadline IS NOT NULL AND d.seq < c.seq
    ORDER BY d.seq DESC LIMIT 1) w ON true
WHERE v.kind = 'verified' AND v.at >= $4 AND v.at < $5 AND {_TASKS}
ORDER BY t.lead_unit, v.at
"""

# Events counted by the unit they name; extension approvals by the lead unit that asked.
_COUNTS = f"""
SELECT CASE WHEN e.kind = 'extension_approved' THEN t.lead_unit ELSE e.unit END AS unit,
       e.kind, count(*) AS n
FROM task_events e JOIN tasks t ON t.id = e.task_id
WHERE e.kind IN ('missed', 'difficulty_reported', 'extension_requested',
                 'extension_approved')
  AND e.at >= $4 AND e.at < $5 AND {_TASKS}
GROUP BY 1, 2
"""

_ESCALATIONS = f"""
SELECT x.unit, x.level, count(*) AS n
FROM escalations x JOIN tasks t ON t.id = x.task_id
WHERE x.kind = 'escalated' AND x.at >= $4 AND x.at < $5 AND {_TASKS}
GROUP BY 1, 2
"""

# Every unit that led a task active in the period, so a unit with nothing amiss is listed.
_UNITS = f"""
SELECT DISTINCT t.lead_unit AS unit FROM tasks t
WHERE t.created_at < $5 AND (t.stage <> 'closed' OR t.updated_at >= $4) AND {_TASKS}
"""

# The events of the tasks that were late or had a matter before the period ended and that
# may have been late within it: something happened to them since it began, or they are red
# still (a late span or an overdue matter ends only with an event; a task with neither
# since the period began and not red has none running in it).
_LATENESS = f"""
SELECT e.task_id, e.seq, e.at, e.kind, e.unit, e.level, e.deadline, e.detail
FROM task_events e JOIN tasks t ON t.id = e.task_id
WHERE e.task_id IN (
        SELECT task_id FROM task_events
        WHERE kind IN ('missed', 'difficulty_reported', 'extension_requested',
                       'disagreement_raised') AND at < $5)
  AND (t.updated_at >= $4 OR (t.light = 'red' AND t.stage NOT IN ('closed', 'withdrawn')))
  AND e.kind = ANY($6::text[]) AND {_TASKS}
ORDER BY e.task_id, e.seq
"""


@dataclass
class UnitRow:
    unit: str
    closed: int = 0
    on_time: int = 0
    misses: int = 0
    escalations: dict[int, int] = field(default_factory=dict)
    difficulties: int = 0
    extensions: int = 0
    extensions_approved: int = 0
    own_late_days: int = 0  # its own lateness
    waited_days: int = 0  # its late days that awaited someone else's answer
    answer_late_days: int = 0  # late answering matters raised to it

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.closed if self.closed else None


@dataclass
class Accountability:
    period: Period
    at: datetime
    units: list[UnitRow]
    leaders: dict[str, int]  # a ladder role -> its late working days answering
    closed: list[dict[str, Any]]  # each task closed in the period, with on_time


def on_time(row: dict[str, Any], closing: time) -> bool:
    """The completion report no later than the due date's close, or, without a due date,
    than the deadline of the window it answered."""
    reported: datetime | None = row["reported_at"]
    if reported is None:
        return False
    if row["due"] is not None:
        limit: datetime | None = datetime.combine(row["due"], closing, OFFICE_TZ)
    else:
        limit = row["window_deadline"]
    return limit is not None and reported <= limit


class WorkingDays:
    """The working days counted for a span (after the day it began, up to the day it
    ended), limited to the period and to today: a run of indices into the period's working
    days (activities.lateness.Run)."""

    def __init__(self, period: Period, now: datetime, overrides: Overrides) -> None:
        first = period.start
        last = min(period.end - timedelta(days=1), now.astimezone(OFFICE_TZ).date())
        self.ordinals: list[int] = [
            d
            for d in range(first.toordinal(), last.toordinal() + 1)
            if classify(date.fromordinal(d), overrides).working
        ]

    def __call__(self, start: datetime, end: datetime) -> tuple[int, int]:
        after = start.astimezone(OFFICE_TZ).date().toordinal()
        until = end.astimezone(OFFICE_TZ).date().toordinal()
        lo = bisect.bisect_right(self.ordinals, after)
        hi = bisect.bisect_right(self.ordinals, until)
        return lo, max(lo, hi)


@functools.lru_cache(maxsize=256)
def _policy(policy_json: str) -> Policy:
    """Tasks mostly share a few policies: each is read once."""
    return Policy.model_validate_json(policy_json)


def _ladder(policy_json: Any, urgency: str) -> Callable[[str, int], str]:
    """The role at a level above the first of a matter's ladder; the policy is read only
    when a matter climbed, which few do."""
    text = policy_json if isinstance(policy_json, str) else json.dumps(policy_json)

    def role(matter: str, level: int) -> str:
        policy = _policy(text)
        if matter == "disagreement":
            rungs = [str(r.level) for r in policy.coordination]
        else:
            above = [str(r.level) for r in policy.ladder_for(urgency) if r.level != "lead_unit"]
            rungs = ["office", *above]
        return rungs[min(level, len(rungs) - 1)]

    return role


async def accountability(
    pool: asyncpg.Pool, filters: Filters, now: datetime, closing: time = time(18, 0)
) -> Accountability:
    period = filters.period
    base = filters.args()
    args = (base[0], base[1], base[4], period.starts_at, period.ends_at)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        with sql_span(_CLOSED):
            closed = [dict(r) for r in await conn.fetch(_CLOSED, *args)]
        with sql_span(_COUNTS):
            counts = await conn.fetch(_COUNTS, *args)
        with sql_span(_ESCALATIONS):
            climbs = await conn.fetch(_ESCALATIONS, *args)
        with sql_span(_UNITS):
            active = await conn.fetch(_UNITS, *args)
        with sql_span(_LATENESS):
            events = await conn.fetch(_LATENESS, *args, sorted(KINDS))
    rows: dict[str, UnitRow] = {r["unit"]: UnitRow(r["unit"]) for r in active}

    def row(unit: str) -> UnitRow:
        return rows.setdefault(unit, UnitRow(unit))

    for c in closed:
        c["on_time"] = on_time(c, closing)
        r = row(c["unit"])
        r.closed += 1
        r.on_time += c["on_time"]
    for n in counts:
        r = row(n["unit"] or "")
        if n["kind"] == "missed":
            r.misses += n["n"]
        elif n["kind"] == "difficulty_reported":
            r.difficulties += n["n"]
        elif n["kind"] == "extension_requested":
            r.extensions += n["n"]
        else:
            r.extensions_approved += n["n"]
    for x in climbs:
        row(x["unit"]).escalations[x["level"]] = x["n"]
    overrides = await load_overrides(pool, period.start - timedelta(days=1), period.end)
    days = WorkingDays(period, now, overrides)
    total = Tally()
    by_task: dict[str, list[asyncpg.Record]] = {}
    for e in events:
        by_task.setdefault(e["task_id"], []).append(e)
    # The policies of the few tasks whose matters climbed: what names a level's role.
    climbed = sorted({e["task_id"] for e in events if e["kind"] == "matter_escalated"})
    policies = {
        r["id"]: (r["policy"], r["urgency"])
        for r in await pool.fetch(
            "SELECT id, policy, coalesce(current_urgency, urgency) AS urgency FROM tasks "
            "WHERE id = ANY($1::text[])",
            climbed,
        )
    }
    for task_id, task_events in by_task.items():
        policy, urgency = policies.get(task_id, ("{}", "normal"))
        tally(walk(task_events, _ladder(policy, urgency)), days, now, total)
    leaders: dict[str, int] = {}
    for field_name, counted in (
        ("own_late_days", total.own),
        ("waited_days", total.waited),
        ("answer_late_days", total.answering),
    ):
        for (kind, name), days_late in counted.items():
            if kind == "unit":
                setattr(row(name), field_name, getattr(row(name), field_name) + days_late)
            elif field_name == "answer_late_days":
                leaders[name] = leaders.get(name, 0) + days_late
    ordered = sorted(rows.values(), key=lambda r: (-r.own_late_days, -r.misses, r.unit))
    return Accountability(period, now, ordered, leaders, closed)


__all__ = ["Accountability", "Owner", "UnitRow", "accountability", "on_time"]
