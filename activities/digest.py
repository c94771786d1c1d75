"""The weekly digest (S1 第八条): each leader is sent, every Monday morning, the tasks under
them: overdue, escalated, due this week, closed last week.

"Overdue" is the task's light, as the workflow sets it (`TaskState.light`, kept in the
ledger's `tasks.light`): red when a window or an answer was missed. It is what
`duban task list --light red` lists. A task's next deadline is no guide: once a window is
missed the deadline that runs is the ladder's answer window, still ahead.

Each leader's digest goes on its own: one who cannot be reached (no channel, a gap in the
directory, a channel that refuses) is reported by name, and the others still get theirs."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import asyncpg
import structlog
from temporalio import activity

from activities.directory import Directory
from activities.directory import load as load_directory
from activities.notify import NotifyActivities
from workflows import activity_names
from workflows.contracts import Notice, NoticeBatch, NoticeKind
from workflows.digest import DigestOutcome
from workflows.policy import Recipient
from workflows.windows import OFFICE_TZ, STAGE_LABELS, local

log = structlog.get_logger(__name__)

# The leaders a digest goes to, and which units each one's tasks come from.
LEADER_ROLES = ("principal_leader", "deputy_secretary_general", "leader_in_charge")
CLOSED = ("closed", "withdrawn")
ROWS_SHOWN = 20  # per section; the rest are counted


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
            lines.extend(f"  · {row}" for row in rows[:ROWS_SHOWN])
            if len(rows) > ROWS_SHOWN:
                lines.append(f"  · 另有 {len(rows) - ROWS_SHOWN} 项，详见 duban task list")
        return "\n".join(lines)


def week_of(at: datetime) -> tuple[int, int]:
    """The ISO week, in the office's time zone."""
    year, week, _ = at.astimezone(OFFICE_TZ).isocalendar()
    return year, week


def week_label(at: datetime) -> str:
    year, week = week_of(at)
    return f"{year}年第{week}周"


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


def _line(r: asyncpg.Record) -> str:
    due = local(r["next_deadline"]) if r["next_deadline"] else "—"
    stage = STAGE_LABELS.get(r["stage"], r["stage"])
    return f"{r['id']} {r['title']}（{r['lead_unit']}，{stage}，时限 {due}）"


async def compose(pool: asyncpg.Pool, directory: Directory, at: datetime) -> list[Digest]:
    now = at.astimezone(OFFICE_TZ)
    week_end = (now + timedelta(days=6 - now.weekday())).replace(hour=23, minute=59, second=59)
    last_week = now - timedelta(days=7)
    rows = await pool.fetch(
        "SELECT id, title, lead_unit, stage, light, escalation_level, next_deadline, updated_at "
        "FROM tasks ORDER BY next_deadline NULLS LAST, id"
    )
    digests = []
    for person, (role, unit, scope) in leaders(directory).items():
        mine = [r for r in rows if "*" in scope or r["lead_unit"] in scope]
        open_ = [r for r in mine if r["stage"] not in CLOSED]
        sections = {
            "逾期": [_line(r) for r in open_ if r["light"] == "red"],
            "已升级": [_line(r) for r in open_ if r["escalation_level"] > 0],
            "本周到期": [
                _line(r)
                for r in open_
                if r["next_deadline"] and now <= r["next_deadline"] <= week_end
            ],
            "上周销号": [
                _line(r) for r in mine if r["stage"] == "closed" and r["updated_at"] >= last_week
            ],
        }
        digests.append(Digest(person, role, unit, sections))
    return digests


def _attempts() -> int:
    """The retry policy's maximum attempts, for the batch's last-attempt rule: unlimited
    never reaches it; run without one (a direct call) the one attempt is the last."""
    policy = activity.info().retry_policy
    if policy is None:
        return 1
    return policy.maximum_attempts or sys.maxsize


class DigestActivities:
    def __init__(self, pool: asyncpg.Pool, notify: NotifyActivities) -> None:
        self.pool = pool
        self.notify = notify

    @activity.defn(name=activity_names.SEND_WEEKLY_DIGEST)
    async def send_weekly_digest(self, at: datetime) -> DigestOutcome:
        """Send every leader their digest once per week (keyed on the ISO week), each on its
        own: one leader's failure is reported for that leader, and the rest still go."""
        directory = await load_directory(self.pool)
        year, week = week_of(at)
        label = week_label(at)
        outcome = DigestOutcome(week=f"{year}-W{week:02d}")
        notices: list[Notice] = []
        leader_of: dict[tuple[str, str], str] = {}  # (role, unit) -> the leader it is for
        for digest in await compose(self.pool, directory, at):
            person = directory.people.get(digest.person_id)
            name = person.name if person is not None else digest.person_id
            notices.append(
                Notice(
                    task_id=f"DIGEST-{year}-W{week:02d}",
                    seq=0,
                    title=f"督办周报 {label}",
                    level=1,
                    role=cast(Recipient, digest.role),  # one of LEADER_ROLES
                    unit=digest.unit,
                    kind=NoticeKind.INFO,
                    text=digest.text(name, label),
                )
            )
            leader_of[(digest.role, digest.unit)] = digest.person_id
        # One notice per leader, each tried on its own (a refusal, a gap in the directory
        # or nothing to reach them by fails that one alone); a temporary failure retries
        # the activity, and the outbox keeps what already went from going twice.
        batch = NoticeBatch(notices=notices, attempts=_attempts())
        for sent in await self.notify.send_notices(batch):
            leader = leader_of[(sent.role, sent.unit)]
            if sent.status == "delivered":
                via = "" if sent.via in (None, "holder") else f" ({sent.via})"
                outcome.delivered[leader] = f"{sent.channel}{via}"
            else:
                why = sent.detail or sent.status
                outcome.unreached[leader] = why
                log.warning("weekly digest not delivered", leader=leader, status=sent.status)
        return outcome
