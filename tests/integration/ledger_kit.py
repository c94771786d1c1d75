"""A task's story written into the ledger as the workflow records it (LedgerActivities), at
the office times a test names: for the board's and the accountability's tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from activities.ledger import LedgerActivities
from workflows.contracts import Event, LedgerBatch, Light, Stage, TaskSnapshot, TaskSpec, Urgency
from workflows.names import EventKind
from workflows.policy import BUILTIN
from workflows.windows import LABELS, OFFICE_TZ


def t(text: str) -> datetime:
    """An office time: `2026-11-13 18:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=OFFICE_TZ)


@dataclass
class Story:
    lead: str
    assigning: str
    due: date | None = None
    urgency: Urgency = "normal"
    co_units: tuple[str, ...] = ()
    title: str = "完善行政执法协调机制"
    id: str = field(default_factory=lambda: f"T-led-{uuid.uuid4().hex[:10]}")
    events: list[Event] = field(default_factory=list)

    def then(
        self,
        when: str,
        kind: EventKind,
        unit: str | None = None,
        *,
        level: int = 0,
        deadline: str | None = None,
        detail: str = "",
    ) -> Story:
        self.events.append(
            Event(
                seq=len(self.events) + 1,
                at=t(when),
                kind=kind,
                stage=Stage.IN_PROGRESS,
                unit=unit,
                level=level,
                deadline=t(deadline) if deadline else None,
                detail=detail,
            )
        )
        return self

    def matter(
        self, when: str, kind: EventKind, matter: str, unit: str, level: int, deadline: str = ""
    ) -> Story:
        """A matter_* event as the core words it: its detail begins with the matter's label."""
        tail = "未按时答复" if kind == EventKind.MATTER_MISSED else "：请于期限前答复"
        return self.then(
            when, kind, unit, level=level, deadline=deadline or None, detail=LABELS[matter] + tail
        )

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(
            id=self.id,
            title=self.title,
            source="区政府常务会议纪要〔2026〕12号",
            assigning_unit=self.assigning,
            lead_unit=self.lead,
            co_units=list(self.co_units),
            standard="形成协调办法并印发",
            due=self.due,
            urgency=self.urgency,
            policy=BUILTIN["default"],
        )


async def record(
    pool: asyncpg.Pool,
    story: Story,
    stage: Stage = Stage.IN_PROGRESS,
    *,
    light: Light = "green",
    level: int = 0,
    next_deadline: str | None = None,
    created: str | None = None,
    urgency: Urgency | None = None,
) -> str:
    """The story's task row and events, through the ledger's own writer."""
    updated = story.events[-1].at if story.events else t("2026-11-02 09:00")
    snapshot = TaskSnapshot(
        spec=story.spec,
        stage=stage,
        escalation_level=level,
        next_deadline=t(next_deadline) if next_deadline else None,
        updated_at=updated,
        light=light,
        urgency=urgency or story.urgency,
        due=story.due,
    )
    await LedgerActivities(pool).record_events(LedgerBatch(task=snapshot, events=story.events))
    first = created or (story.events[0].at.isoformat() if story.events else None)
    if first is not None:
        when = t(first) if created else story.events[0].at
        await pool.execute("UPDATE tasks SET created_at = $2 WHERE id = $1", story.id, when)
    return story.id


async def notice(
    pool: asyncpg.Pool, task_id: str, seq: int, status: str, role: str = "lead_unit", **kw: Any
) -> None:
    """An outbox row as the notifier leaves it."""
    await pool.execute(
        "INSERT INTO notifications (task_id, seq, role, unit, channel, kind, level, body, status,"
        " last_error) VALUES ($1, $2, $3, $4, $5, 'escalation', 1, '', $6, $7)",
        task_id,
        seq,
        role,
        kw.get("unit", "区司法局"),
        kw.get("channel", "wecom"),
        status,
        kw.get("error"),
    )
