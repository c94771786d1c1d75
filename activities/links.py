"""Action links (issue 12 §2): a notice that asks something of the person it reached carries
`{DUBAN_HTTP_PUBLIC_URL}/a/{token}`, made for that person, that task, that event and the
actions they may take there, in the unit and role the directory gives them
(activities.authz). The token is random and only its SHA-256 is kept; the link expires
with the window it belongs to, at the latest in seven days, and works once.

An escalation or reminder asks its level to take the matter up (ack, 我已知悉并督办); the
lead unit's receipt window (its warning, or a level-1 escalation of it) asks it to sign;
a difficulty asks the office's answer, a request for more time the approver's decision, a
disagreement the coordinating level's resolution."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
import structlog

from activities import authz
from activities.directory import Directory, Reached
from workflows.contracts import Notice
from workflows.names import Action, NoticeKind
from workflows.windows import OFFICE_TZ

log = structlog.get_logger(__name__)

LIFETIME = timedelta(days=7)  # the longest a link lives, whatever its window
PATH = "/a/"
CLIMB = frozenset({NoticeKind.ESCALATION, NoticeKind.REMINDER})
MATTER_ACTIONS: dict[str, Action] = {
    "difficulty": Action.ANSWER_DIFFICULTY,
    "extension": Action.DECIDE_EXTENSION,
    "disagreement": Action.RESOLVE,
}

_UPSERT = """
INSERT INTO action_links (task_id, seq, person_id, kind, actions, unit, role, stand_in_for,
                          message_role, facts, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
ON CONFLICT (task_id, seq, person_id) DO UPDATE SET task_id = excluded.task_id
RETURNING id
"""
_FIND = """
SELECT l.* FROM action_link_tokens t JOIN action_links l ON l.id = t.link_id WHERE t.hash = $1
"""


def asked(notice: Notice) -> tuple[Action, ...]:
    """What the notice asks of its recipient: the actions a link may offer them."""
    about = notice.about
    if about is None:  # a notice of a release before 3: no facts to act on
        return ()
    signing = about.window == "receive" and notice.role == "lead_unit"
    if notice.kind in CLIMB:
        return (Action.RECEIVE, Action.ACK) if signing else (Action.ACK,)
    if notice.kind == NoticeKind.WARNING:
        return (Action.RECEIVE,) if signing else ()
    if notice.kind == NoticeKind.MATTER and about.matter is not None:
        return (MATTER_ACTIONS[about.matter],)
    return ()


def expiry(notice: Notice, now: datetime) -> datetime:
    """When the link ends: with the window it answers, and at the latest in seven days."""
    about = notice.about
    window = (about.answer_by if about else None) or notice.deadline
    if window is None and about is not None:
        window = about.window_deadline
    latest = now + LIFETIME
    return min(window, latest) if window is not None else latest


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{PATH}{token}"


def masked(text: str, link_url: str) -> str:
    """The text with the link's token hidden: what the outbox keeps of a notice."""
    if not link_url:
        return text
    return text.replace(link_url, link_url[: link_url.rindex("/") + 1] + "***")


async def make(
    pool: asyncpg.Pool,
    notice: Notice,
    reached: Reached | None,
    directory: Directory,
    base: str | None,
    now: datetime,
) -> str:
    """The link's URL for this notice and the person it reached; "" where the notice asks
    nothing, no person was resolved, or the directory lets them do none of it. Made again
    for the same notice and person (a retried activity), it is the same link: a new token
    that opens it, one use between them."""
    actions = asked(notice)
    if not actions or reached is None or not base:
        return ""
    expires = expiry(notice, now)
    if expires <= now:
        return ""
    facts = await _task_facts(pool, notice)
    if facts is None:
        log.warning("no action link: the task is not in the ledger", task_id=notice.task_id)
        return ""
    person = reached.person.id
    chosen, kept = _standing(directory, person, actions, facts, notice.unit, now)
    if chosen is None:
        return ""
    message_role = next((s.message_role for _, s in kept if s.message_role), None)
    token = secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        link_id = await conn.fetchval(
            _UPSERT,
            notice.task_id,
            notice.seq,
            person,
            notice.kind,
            [a.value for a, _ in kept],
            chosen.unit,
            chosen.role,
            chosen.stand_in_for,
            message_role,
            json.dumps(_page_facts(notice), ensure_ascii=False),
            expires,
        )
        await conn.execute(
            "INSERT INTO action_link_tokens (hash, link_id) VALUES ($1, $2)", digest(token), link_id
        )
    return url(base, token)


def _standing(
    directory: Directory,
    person: str,
    actions: tuple[Action, ...],
    facts: authz.TaskFacts,
    unit: str,
    now: datetime,
) -> tuple[authz.Standing | None, list[tuple[Action, authz.Standing]]]:
    """The unit and role the person acts in for this notice (their own seat before a
    stand-in's), and each action they may take in that same unit and role."""
    day = now.astimezone(OFFICE_TZ).date()
    chosen: authz.Standing | None = None
    kept: list[tuple[Action, authz.Standing]] = []
    for action in actions:
        found = [
            s for s in authz.standings(directory, person, action, facts, day) if s.unit == unit
        ]
        if chosen is None and found:
            chosen = found[0]
        same = [s for s in found if chosen and (s.unit, s.role) == (chosen.unit, chosen.role)]
        if same:
            kept.append((action, same[0]))
    return chosen, kept


async def _task_facts(pool: asyncpg.Pool, notice: Notice) -> authz.TaskFacts | None:
    """What authz needs of the task when the notice was sent: its units from the ledger,
    the level and the late unit, or the disagreement's level, from the notice."""
    row = await pool.fetchrow(
        "SELECT assigning_unit, lead_unit, co_units, policy FROM tasks WHERE id = $1",
        notice.task_id,
    )
    if row is None:
        return None
    policy = row["policy"]
    named = (json.loads(policy) if isinstance(policy, str) else policy).get(
        "extension_approver", "assigning_unit"
    )
    climbing = notice.kind in CLIMB
    matter = notice.about.matter if notice.about else None
    return authz.TaskFacts(
        id=notice.task_id,
        assigning_unit=row["assigning_unit"],
        lead_unit=row["lead_unit"],
        co_units=tuple(row["co_units"]),
        level=notice.level if climbing else 0,
        level_role=notice.role if climbing else None,
        late_unit=notice.unit if climbing else row["lead_unit"],
        disagreement_role=notice.role if matter == "disagreement" else None,
        approver=row["assigning_unit"] if named == "assigning_unit" else named,
    )


def _page_facts(notice: Notice) -> dict[str, Any]:
    """What the link's page shows of the notice: the task, the window or the matter, since
    when it is late and by when to answer."""
    about = notice.about
    assert about is not None
    stamp = {
        "window_deadline": about.window_deadline,
        "answer_by": about.answer_by or notice.deadline,
    }
    return {
        "title": notice.title,
        "level": notice.level,
        "recipient_role": notice.role,
        "subject_unit": about.subject_unit,
        "window": about.window,
        "matter": about.matter,
        "said": about.said,
        **{k: v.isoformat() if v else None for k, v in stamp.items()},
    }


State = Literal["usable", "used", "expired"]


@dataclass(frozen=True)
class Link:
    """One link as the ledger holds it."""

    id: int
    task_id: str
    seq: int
    person_id: str
    kind: str
    actions: tuple[Action, ...]
    unit: str
    role: str
    stand_in_for: str | None
    message_role: str | None
    facts: dict[str, Any]
    expires_at: datetime
    used_at: datetime | None
    used_action: str | None

    def state(self, now: datetime) -> State:
        if self.used_at is not None:
            return "used"
        return "expired" if now >= self.expires_at else "usable"


def _link(row: asyncpg.Record) -> Link:
    facts = row["facts"]
    return Link(
        id=row["id"],
        task_id=row["task_id"],
        seq=row["seq"],
        person_id=row["person_id"],
        kind=row["kind"],
        actions=tuple(Action(a) for a in row["actions"]),
        unit=row["unit"],
        role=row["role"],
        stand_in_for=row["stand_in_for"],
        message_role=row["message_role"],
        facts=json.loads(facts) if isinstance(facts, str) else dict(facts),
        expires_at=row["expires_at"],
        used_at=row["used_at"],
        used_action=row["used_action"],
    )


def well_formed(token: str) -> bool:
    """A token as `make` writes them: 43 URL-safe characters."""
    return len(token) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)


async def find(pool: asyncpg.Pool, token: str) -> Link | None:
    """The link a token opens; None for a token no notice carried."""
    if not well_formed(token):
        return None
    row = await pool.fetchrow(_FIND, digest(token))
    return _link(row) if row is not None else None


async def find_by_id(pool: asyncpg.Pool, link_id: int) -> Link | None:
    row = await pool.fetchrow("SELECT * FROM action_links WHERE id = $1", link_id)
    return _link(row) if row is not None else None


async def claim(pool: asyncpg.Pool, link: Link, action: Action, now: datetime) -> bool:
    """Take the link for one action, while nobody else has and it has not expired: the
    action goes to the task only after this. False: used (or expired) meanwhile."""
    taken = await pool.fetchval(
        "UPDATE action_links SET used_at = $2, used_action = $3 "
        "WHERE id = $1 AND used_at IS NULL AND expires_at > $2 RETURNING id",
        link.id,
        now,
        action.value,
    )
    return taken is not None


async def release(pool: asyncpg.Pool, link: Link) -> None:
    """The task refused the action (or could not be asked): the link is usable again."""
    await pool.execute(
        "UPDATE action_links SET used_at = NULL, used_action = NULL WHERE id = $1", link.id
    )
