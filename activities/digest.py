"""The weekly digest (S1 第八条): each leader is sent, every Monday morning, the tasks under
them: overdue, escalated, due this week, closed last week."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
from temporalio import activity

from activities.directory import Directory
from activities.directory import load as load_directory
from activities.notify import NotifyActivities
from workflows import activity_names
from workflows.contracts import Notice
from workflows.windows import OFFICE_TZ, local

# The leaders a digest goes to, and which units each one's tasks come from.
LEADER_ROLES = ("principal_leader", "deputy_secretary_general", "leader_in_charge")


@dataclass
class Digest:
    person_id: str
    role: str
    unit: str  # a unit the role answers for, so the notice resolves to this leader
    sections: dict[str, list[str]] = field(default_factory=dict)

    def text(self, name: str, week: str) -> str:
        lines = [f"【督办周报】{name}，{week} 分管任务情况："]
        for title, rows in self.sections.items():
            lines.append(f"{title}（{len(rows)}）")
            lines.extend(f"  · {row}" for row in rows[:20])
        return "\n".join(lines)


def leaders(directory: Directory) -> dict[str, tuple[str, str, set[str]]]:
    """person -> (role, a unit to address them by, the lead units whose tasks they see;
    "*" for the principal leader, who sees every task)."""
    out: dict[str, tuple[str, str, set[str]]] = {}
    for (role, unit), person in sorted(directory.holders.items()):
        if role not in LEADER_ROLES:
            continue
        scope = {unit}
        if person in out:
            out[person][2].update(scope)
        else:
            out[person] = (role, unit, scope)
    return out


async def compose(pool: asyncpg.Pool, directory: Directory, at: datetime) -> list[Digest]:
    now = at.astimezone(OFFICE_TZ)
    week_end = (now + timedelta(days=6 - now.weekday())).replace(hour=23, minute=59, second=59)
    last_week = now - timedelta(days=7)
    rows = await pool.fetch(
        "SELECT id, title, lead_unit, stage, escalation_level, next_deadline, updated_at "
        "FROM tasks ORDER BY next_deadline NULLS LAST, id"
    )
    digests = []
    for person, (role, unit, scope) in leaders(directory).items():
        mine = [r for r in rows if "*" in scope or r["lead_unit"] in scope]
        open_ = [r for r in mine if r["stage"] not in ("closed", "withdrawn")]

        def line(r: asyncpg.Record) -> str:
            due = local(r["next_deadline"]) if r["next_deadline"] else "—"
            return f"{r['id']} {r['title']}（{r['lead_unit']}，{r['stage']}，时限 {due}）"

        sections = {
            "逾期": [line(r) for r in open_ if r["next_deadline"] and r["next_deadline"] < now],
            "已升级": [line(r) for r in open_ if r["escalation_level"] > 0],
            "本周到期": [
                line(r)
                for r in open_
                if r["next_deadline"] and now <= r["next_deadline"] <= week_end
            ],
            "上周销号": [
                line(r) for r in mine if r["stage"] == "closed" and r["updated_at"] >= last_week
            ],
        }
        digests.append(Digest(person, role, unit, sections))
    return digests


class DigestActivities:
    def __init__(self, pool: asyncpg.Pool, notify: NotifyActivities) -> None:
        self.pool = pool
        self.notify = notify

    @activity.defn(name=activity_names.SEND_WEEKLY_DIGEST)
    async def send_weekly_digest(self, at: datetime) -> int:
        """Send every leader their digest once per week (keyed on the ISO week)."""
        directory = await load_directory(self.pool)
        year, week, _ = at.astimezone(OFFICE_TZ).isocalendar()
        label = f"{year}年第{week}周"
        sent = 0
        for digest in await compose(self.pool, directory, at):
            person = directory.people[digest.person_id]
            notice = Notice(
                task_id=f"DIGEST-{year}-W{week:02d}",
                seq=0,
                title=f"督办周报 {label}",
                level=1,
                role=digest.role,
                unit=digest.unit,
                kind="info",
                text=digest.text(person.name, label),
            )
            await self.notify.send_notice(notice)
            sent += 1
        return sent
