"""The directory: who holds a role for a unit today, and who stands in while they are away.
A notice names a role and a unit; the person is resolved here when it is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

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

    @property
    def contacts(self) -> dict[str, str]:
        fields = ("mobile", "email", "wecom", "dingtalk", "feishu")
        return {f: v for f in fields if (v := getattr(self, f))}


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


class DirectoryError(Exception):
    """The directory cannot say who is to be told (a gap or a cycle)."""


@dataclass
class Directory:
    people: dict[str, Person] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)
    holders: dict[tuple[str, str], str] = field(default_factory=dict)
    absences: list[Absence] = field(default_factory=list)

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


async def load(pool: asyncpg.Pool) -> Directory:
    people = {
        r["id"]: Person(
            r["id"],
            r["name"],
            r["mobile"],
            r["email"],
            r["wecom"],
            r["dingtalk"],
            r["feishu"],
            tuple(r["prefer"]),
        )
        for r in await pool.fetch("SELECT * FROM people")
    }
    return Directory(
        people=people,
        units={r["name"] for r in await pool.fetch("SELECT name FROM units")},
        holders={
            (r["role"], r["unit"]): r["person_id"]
            for r in await pool.fetch("SELECT role, unit, person_id FROM role_holders")
        },
        absences=[
            Absence(r["person_id"], r["starts_on"], r["ends_on"], r["stand_in_id"])
            for r in await pool.fetch("SELECT * FROM absences")
        ],
    )


async def replace(pool: asyncpg.Pool, directory: Directory) -> None:
    """Replace the whole directory in one transaction: all or nothing."""
    async with pool.acquire() as conn, conn.transaction():
        for table in ("absences", "role_holders", "units", "people"):
            await conn.execute(f"DELETE FROM {table}")
        await conn.executemany(
            "INSERT INTO people (id, name, mobile, email, wecom, dingtalk, feishu, prefer) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (p.id, p.name, p.mobile, p.email, p.wecom, p.dingtalk, p.feishu, list(p.prefer))
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
        await add_absences(conn, directory.absences)


async def add_absences(conn: Any, absences: list[Absence]) -> None:
    await conn.executemany(
        "INSERT INTO absences (person_id, starts_on, ends_on, stand_in_id) VALUES ($1, $2, $3, $4)",
        [(a.person_id, a.starts_on, a.ends_on, a.stand_in_id) for a in absences],
    )
