"""The directory: who holds a role for a unit today, and who stands in while they are away.
A notice names a role and a unit; the person is resolved here when it is sent. The same
answer says who may act (activities.authz): the holder, or the stand-in while away."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import asyncpg

# A notice's role -> the directory role that answers for it, and whether the role is held
# per unit or once for the whole government ('*').
ROLE_OF_NOTICE: dict[str, tuple[str, bool]] = {
    "lead_unit": ("unit_head", True),
    "co_unit": ("unit_head", True),
    "deputy_secretary_general": ("deputy_secretary_general", True),  # 分管: per unit
    "leader_in_charge": ("leader_in_charge", True),
    "principal_leader": ("principal_leader", False),
    "office": ("office", False),
}
# Roles held by one person per unit (or once, for '*'): role_holders.
HELD_ROLES = (
    "unit_head",
    "leader_in_charge",
    "deputy_secretary_general",
    "principal_leader",
    "office",
)
# How each directory role reads to a person (pages, the desk, the board).
DIRECTORY_ROLE_LABELS = {
    "unit_head": "主要负责人",
    "member": "经办人",
    "office": "办公室",
    "deputy_secretary_general": "副秘书长",
    "leader_in_charge": "分管领导",
    "principal_leader": "主要领导",
    "ops": "运维",
}
# Roles held by any number of people: `member` (经办人, staff who may act for their unit)
# and `ops` (held for the whole office, '*'; nothing yet rests on it). No stand-ins.
SHARED_ROLES = ("member", "ops")


# The contacts a directory file names. A channel may reach people by a contact of another
# kind (its ChannelSpec.contact): a person keeps those in `more`. All are stored together,
# by kind, in people.contacts, so the schema lists neither contacts nor channels.
CONTACT_FIELDS = ("mobile", "email", "wecom", "dingtalk", "feishu")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    mobile: str | None = None
    email: str | None = None
    wecom: str | None = None
    dingtalk: str | None = None
    feishu: str | None = None
    prefer: tuple[str, ...] = ()
    more: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def of(
        cls, id: str, name: str, contacts: Mapping[str, str], prefer: tuple[str, ...] = ()
    ) -> Person:
        """A person from their contacts by kind, the named ones and any other."""
        more = {k: v for k, v in contacts.items() if k not in CONTACT_FIELDS}
        named = {k: contacts.get(k) for k in CONTACT_FIELDS}
        return cls(id, name, **named, prefer=prefer, more=more)

    def contact(self, kind: str) -> str | None:
        """The person's contact of this kind (mobile, email, a channel's own id), if any."""
        if kind in CONTACT_FIELDS:
            value: str | None = getattr(self, kind)
            return value
        return self.more.get(kind)

    @property
    def contacts(self) -> dict[str, str]:
        named = {f: v for f in CONTACT_FIELDS if (v := getattr(self, f))}
        return {**named, **self.more}


@dataclass(frozen=True)
class Absence:
    person_id: str
    starts_on: date
    ends_on: date
    stand_in_id: str

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Reached:
    person: Person
    via: str  # "holder", or "stand-in for <id>"
    # The action link made for this person and this notice (activities.links); "" if none.
    action_url: str = ""


@dataclass(frozen=True, order=True)
class Seat:
    """A role a person may act in today, for a unit ('*' for the whole office): their own,
    or an absent holder's they stand in for."""

    role: str
    unit: str
    stand_in_for: str | None = None


class Reader(Protocol):
    """A pool or one of its connections: what the directory is read through."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...


class DirectoryError(Exception):
    """The directory cannot say who is to be told (a gap or a cycle)."""


@dataclass
class Directory:
    people: dict[str, Person] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)
    holders: dict[tuple[str, str], str] = field(default_factory=dict)
    absences: list[Absence] = field(default_factory=list)
    members: set[tuple[str, str, str]] = field(default_factory=set)  # (role, unit, person)

    def away(self, person_id: str, day: date) -> Absence | None:
        return next((a for a in self.absences if a.person_id == person_id and a.covers(day)), None)

    def holder(self, role: str, unit: str) -> str | None:
        directory_role, per_unit = ROLE_OF_NOTICE.get(role, (role, True))
        return self.holders.get((directory_role, unit if per_unit else "*"))

    def resolve(self, role: str, unit: str, day: date) -> Reached:
        """The holder, or the stand-in (and theirs) while the holder is away."""
        holder = self.holder(role, unit)
        if holder is None:
            raise DirectoryError(f"nobody holds {role} for {unit} in the directory")
        return self._present(holder, day)

    def _present(self, holder: str, day: date) -> Reached:
        seen = [holder]
        person_id = holder
        while (absence := self.away(person_id, day)) is not None:
            person_id = absence.stand_in_id
            if person_id in seen:
                chain = " -> ".join([*seen, person_id])
                raise DirectoryError(f"stand-ins go round in a circle: {chain}")
            seen.append(person_id)
        via = "holder" if person_id == holder else f"stand-in for {holder}"
        return Reached(self.people[person_id], via)

    def seats(self, person_id: str, day: date) -> list[Seat]:
        """Every role `person_id` may act in on `day`: the roles they hold (away or not),
        their memberships, and the roles of absent holders whose stand-in they are now,
        resolved as a notice would be."""
        own = [Seat(role, unit) for (role, unit), pid in self.holders.items() if pid == person_id]
        shared = [Seat(role, unit) for role, unit, pid in self.members if pid == person_id]
        standing: list[Seat] = []
        for (role, unit), holder in self.holders.items():
            if holder == person_id or self.away(holder, day) is None:
                continue
            try:
                reached = self._present(holder, day)
            except DirectoryError:
                continue
            if reached.person.id == person_id:
                standing.append(Seat(role, unit, stand_in_for=holder))
        return sorted(own) + sorted(shared) + sorted(standing)


async def load(pool: Reader) -> Directory:
    people = {
        r["id"]: Person.of(r["id"], r["name"], json.loads(r["contacts"]), tuple(r["prefer"]))
        for r in await pool.fetch("SELECT * FROM people")
    }
    return Directory(
        people=people,
        units={r["name"] for r in await pool.fetch("SELECT name FROM units")},
        holders={
            (r["role"], r["unit"]): r["person_id"]
            for r in await pool.fetch("SELECT role, unit, person_id FROM role_holders")
        },
        members={
            (r["role"], r["unit"], r["person_id"])
            for r in await pool.fetch("SELECT role, unit, person_id FROM role_members")
        },
        absences=[
            Absence(r["person_id"], r["starts_on"], r["ends_on"], r["stand_in_id"])
            for r in await pool.fetch("SELECT * FROM absences")
        ],
    )


# The directory's version: bumped in the writer's transaction by every write to its tables
# (deploy/migrations/0010_directory_version.sql), read in one statement.
VERSION_SQL = "SELECT version FROM directory_version"


async def version(pool: Reader) -> int:
    found: int = await pool.fetchval(VERSION_SQL)
    return found


async def load_versioned(pool: asyncpg.Pool) -> tuple[int, Directory]:
    """The directory and its version, read in one snapshot: the one is the other's."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await version(conn), await load(conn)


class Held:
    """The directory kept in a process between requests (the HTTP service), read again from
    PostgreSQL when its version has moved: the caller reads the version with its credential,
    so a change to the directory is seen on the very next request, and the five tables are
    read only once per change rather than once per request. Never to be mutated."""

    def __init__(self) -> None:
        self._held: tuple[int, Directory] | None = None
        self._reading = asyncio.Lock()  # one read at a time; the others wait for it

    async def at(self, pool: asyncpg.Pool, seen: int) -> Directory:
        """The directory as of version `seen` (or a later one, read now)."""
        held = self._held
        if held is not None and held[0] == seen:
            return held[1]
        async with self._reading:
            held = self._held
            if held is None or held[0] != seen:
                # Read under the lock, each read's snapshot is no older than the last one's:
                # what is read now replaces what is held (also after the database was made
                # anew, its version starting again from 0).
                held = self._held = await load_versioned(pool)
            return held[1]

    async def now(self, pool: asyncpg.Pool) -> Directory:
        """Today's directory: its version asked of PostgreSQL (one statement)."""
        return await self.at(pool, await version(pool))


async def replace(pool: asyncpg.Pool, directory: Directory) -> None:
    """Replace the whole directory in one transaction: all or nothing."""
    async with pool.acquire() as conn, conn.transaction():
        for table in ("absences", "role_members", "role_holders", "units", "people"):
            await conn.execute(f"DELETE FROM {table}")
        await conn.executemany(
            "INSERT INTO people (id, name, contacts, prefer) VALUES ($1, $2, $3::jsonb, $4)",
            [
                (p.id, p.name, json.dumps(p.contacts, ensure_ascii=False), list(p.prefer))
                for p in directory.people.values()
            ],
        )
        await conn.executemany(
            "INSERT INTO units (name) VALUES ($1)", [(u,) for u in directory.units]
        )
        await conn.executemany(
            "INSERT INTO role_holders (role, unit, person_id) VALUES ($1, $2, $3)",
            [(role, unit, pid) for (role, unit), pid in directory.holders.items()],
        )
        await conn.executemany(
            "INSERT INTO role_members (role, unit, person_id) VALUES ($1, $2, $3)",
            sorted(directory.members),
        )
        await add_absences(conn, directory.absences)


async def add_absences(conn: Any, absences: list[Absence]) -> None:
    await conn.executemany(
        "INSERT INTO absences (person_id, starts_on, ends_on, stand_in_id) VALUES ($1, $2, $3, $4)",
        [(a.person_id, a.starts_on, a.ends_on, a.stand_in_id) for a in absences],
    )
