"""The ledger in PostgreSQL: one row per task, per transition, per escalation."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio import activity

from activities.sql import sql_span
from workflows import activity_names
from workflows.contracts import LedgerBatch

_UPSERT_TASK = """
INSERT INTO tasks (id, title, source, assigning_unit, lead_unit, co_units, standard, due,
                   urgency, policy, stage, escalation_level, next_deadline, last_seq, updated_at,
                   light, current_urgency, current_due, calendar_fallback)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15,
        $16, $17, $18, $19)
ON CONFLICT (id) DO UPDATE SET
    stage = excluded.stage,
    light = excluded.light,
    current_urgency = excluded.current_urgency,
    current_due = excluded.current_due,
    calendar_fallback = excluded.calendar_fallback,
    escalation_level = excluded.escalation_level,
    next_deadline = excluded.next_deadline,
    last_seq = excluded.last_seq,
    updated_at = excluded.updated_at
WHERE tasks.last_seq <= excluded.last_seq
"""

_INSERT_EVENT = """
INSERT INTO task_events (task_id, seq, at, kind, stage, unit, actor, detail, level, deadline,
                         role, via, stand_in_for)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (task_id, seq) DO NOTHING
"""

_INSERT_ESCALATION = """
INSERT INTO escalations (task_id, seq, level, kind, unit, at, answer_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (task_id, seq) DO NOTHING
"""


class LedgerActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn(name=activity_names.RECORD_EVENTS)
    async def record_events(self, batch: LedgerBatch) -> int:
        """Write the batch and the task row in one transaction; a retry writes nothing twice."""
        spec = batch.task.spec
        last_seq = batch.events[-1].seq if batch.events else 0
        async with self.pool.acquire() as conn, conn.transaction():
            with sql_span(_UPSERT_TASK):
                await self._upsert_task(conn, batch, last_seq)
            with sql_span(_INSERT_EVENT):
                await conn.executemany(
                    _INSERT_EVENT,
                    [
                        (
                            spec.id,
                            e.seq,
                            e.at,
                            e.kind,
                            e.stage.value,
                            e.unit,
                            e.by,
                            e.detail,
                            e.level,
                            e.deadline,
                            e.role,
                            e.via.value if e.via else None,
                            e.stand_in_for,
                        )
                        for e in batch.events
                    ],
                )
            with sql_span(_INSERT_ESCALATION):
                await conn.executemany(
                    _INSERT_ESCALATION,
                    [
                        (
                            spec.id,
                            e.seq,
                            e.level,
                            e.kind,
                            e.unit or spec.lead_unit,
                            e.at,
                            e.deadline,
                        )
                        for e in batch.events
                        if e.kind in ("escalated", "reminded")
                    ],
                )
        return len(batch.events)

    @staticmethod
    async def _upsert_task(conn: Any, batch: LedgerBatch, last_seq: int) -> None:
        task, spec = batch.task, batch.task.spec
        await conn.execute(
            _UPSERT_TASK,
            spec.id,
            spec.title,
            spec.source,
            spec.assigning_unit,
            spec.lead_unit,
            list(spec.co_units),
            spec.standard,
            spec.due,
            spec.urgency,
            spec.policy.model_dump_json(),
            task.stage.value,
            task.escalation_level,
            task.next_deadline,
            last_seq,
            task.updated_at,
            task.light,
            task.urgency,
            task.due,
            task.fallback,
        )


async def open_task_counts(pool: asyncpg.Pool) -> dict[tuple[str, str], int]:
    """Open tasks by (stage, light), for the metrics endpoint."""
    rows = await pool.fetch(
        "SELECT stage, light, count(*) AS n FROM tasks "
        "WHERE stage NOT IN ('closed', 'withdrawn') GROUP BY stage, light"
    )
    return {(r["stage"], r["light"]): r["n"] for r in rows}


async def task_history(pool: asyncpg.Pool, task_id: str) -> list[dict[str, object]]:
    """The task's timeline as the ledger has it, oldest first: who acted (`actor`, a person
    id), in which role, for which unit, how (`via`) and for whom they stood in."""
    rows = await pool.fetch(
        "SELECT seq, at, kind, stage, unit, actor, role, via, stand_in_for, detail, level, "
        "deadline "
        "FROM task_events WHERE task_id = $1 ORDER BY seq",
        task_id,
    )
    return [dict(r) for r in rows]
