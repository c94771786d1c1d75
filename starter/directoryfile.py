"""Read a directory file (YAML, or CSV with one row per person): people, units and who holds
which role. Every entry is checked; one bad entry refuses the whole file, with its line
and the reason."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from activities.directory import Absence, Directory, Person
from starter import directorycsv
from starter.located import at
from starter.safefile import DIRECTORY, load_yaml
from workflows import limits
from workflows.errors import DubanError
from workflows.names import Channel

CONTACTS = ("mobile", "email", "wecom", "dingtalk", "feishu")
CHANNELS = tuple(Channel)  # what a person may prefer: every channel duban has
MAX_LEAVE_DAYS = 366  # longer than a year, a stand-in is the holder: the directory says so


def _person(where: str, item: Any) -> Person:
    if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
        raise DubanError(f"{where}: a person needs an id and a name")
    unknown = set(item) - {"id", "name", "prefer", *CONTACTS}
    if unknown:
        raise DubanError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    contacts = {k: str(item[k]).strip() for k in CONTACTS if item.get(k)}
    if not contacts:
        raise DubanError(f"{where}: {item['id']} has no contact (mobile, email, wecom, ...)")
    prefer = tuple(item.get("prefer") or ())
    bad = [c for c in prefer if c not in CHANNELS]
    if bad:
        raise DubanError(f"{where}: unknown channel {bad[0]!r} in prefer")
    return Person.of(str(item["id"]), str(item["name"]), contacts, prefer)


def _known(directory: Directory, where: str, person_id: Any) -> str:
    if str(person_id) not in directory.people:
        raise DubanError(f"{where}: unknown person {person_id!r}")
    return str(person_id)


def _unit(directory: Directory, where: str, unit: Any) -> str:
    if str(unit) not in directory.units:
        raise DubanError(f"{where}: unknown unit {unit!r}")
    return str(unit)


def parse(data: Any, path: Path) -> Directory:
    """The directory a file describes; entries are `Located` (YAML or CSV) where they can
    be, so a refusal names the line it comes from."""
    if not isinstance(data, dict):
        raise DubanError(f"{path}: give people:, units:, office:, principal_leader: ...")
    d = Directory()
    for n, item in enumerate(data.get("people") or [], start=1):
        where = at(path, item, f"people[{n}]")
        person = _person(where, item)
        if person.id in d.people:
            raise DubanError(f"{where}: {person.id} is listed twice")
        d.people[person.id] = person
    units = data.get("units") or []
    d.units = {str(u["name"]) for u in units if isinstance(u, dict) and u.get("name")}
    for n, u in enumerate(units, start=1):
        where = at(path, u, f"units[{n}]")
        if not isinstance(u, dict) or not u.get("name") or not u.get("head"):
            raise DubanError(f"{where}: a unit needs a name and a head")
        if ("unit_head", str(u["name"])) in d.holders:
            raise DubanError(f"{where}: {u['name']} is listed twice")
        d.holders[("unit_head", str(u["name"]))] = _known(d, where, u["head"])
        if u.get("leader_in_charge"):
            d.holders[("leader_in_charge", str(u["name"]))] = _known(
                d, where, u["leader_in_charge"]
            )
        for pid in _listed(where, u, "members"):
            d.members.add(("member", str(u["name"]), _known(d, where, pid)))
    for n, dsg in enumerate(data.get("deputy_secretaries_general") or [], start=1):
        where = at(path, dsg, f"deputy_secretaries_general[{n}]")
        deputy = _known(d, where, (dsg or {}).get("person"))
        for unit in dsg.get("covers") or []:
            d.holders[("deputy_secretary_general", _unit(d, where, unit))] = deputy
    for role in ("office", "principal_leader"):
        if data.get(role) is None:
            raise DubanError(f"{path}: {role}: missing")
        d.holders[(role, "*")] = _known(d, at(path, data, role, key=role), data[role])
    for pid in _listed(at(path, data, "ops", key="ops"), data, "ops"):
        d.members.add(("ops", "*", _known(d, at(path, data, "ops", key="ops"), pid)))
    for n, leave in enumerate(data.get("leave") or [], start=1):
        add_leave(d, at(path, leave, f"leave[{n}]"), leave)
    return d


def _listed(where: str, entry: dict[str, Any], key: str) -> list[Any]:
    """A list of person ids (`members: [a, b]`, `ops: [c]`); one id alone is a list of one."""
    value = entry.get(key) or []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise DubanError(f"{where}: {key}: give a list of person ids")
    return value


def add_leave(d: Directory, where: str, leave: Any) -> Absence:
    """Check one absence against the directory and add it: the stand-in must be present
    for the whole absence, and no chain of stand-ins may come back round."""
    try:
        absence = Absence(
            _known(d, where, leave["person"]),
            _day(leave["from"]),
            _day(leave["to"]),
            _known(d, where, leave["stand_in"]),
        )
    except (KeyError, TypeError) as err:
        raise DubanError(f"{where}: write {{person, from, to, stand_in}}") from err
    except ValueError as err:
        raise DubanError(f"{where}: {err}") from err
    if absence.ends_on < absence.starts_on:
        raise DubanError(f"{where}: {absence.starts_on} to {absence.ends_on} is backwards")
    problem = limits.first(
        limits.date_problem("from", absence.starts_on), limits.date_problem("to", absence.ends_on)
    )
    if problem is not None:
        raise DubanError(f"{where}: {problem}")
    if (absence.ends_on - absence.starts_on).days >= MAX_LEAVE_DAYS:
        raise DubanError(
            f"{where}: leave of more than {MAX_LEAVE_DAYS} days: name a new holder instead"
        )
    if absence.stand_in_id == absence.person_id:
        raise DubanError(f"{where}: {absence.person_id} cannot stand in for themselves")
    day = absence.starts_on
    while day <= absence.ends_on:
        chain = [absence.person_id, absence.stand_in_id]
        while (other := d.away(chain[-1], day)) is not None and other.stand_in_id not in chain:
            chain.append(other.stand_in_id)
        if other is not None:
            circle = " -> ".join([*chain, other.stand_in_id])
            raise DubanError(f"{where}: stand-ins go round in a circle on {day}: {circle}")
        if d.away(absence.stand_in_id, day) is not None:
            raise DubanError(f"{where}: stand-in {absence.stand_in_id} is away too on {day}")
        day += timedelta(days=1)
    for other in d.absences:
        overlaps = other.starts_on <= absence.ends_on and absence.starts_on <= other.ends_on
        if overlaps and other.person_id == absence.stand_in_id:
            raise DubanError(f"{where}: stand-in {absence.stand_in_id} is away too")
        if overlaps and other.stand_in_id == absence.person_id:
            raise DubanError(
                f"{where}: {absence.person_id} stands in for {other.person_id} then; "
                "name another stand-in for them first"
            )
        if overlaps and other.person_id == absence.person_id:
            raise DubanError(f"{where}: {absence.person_id} already has leave then")
    d.absences.append(absence)
    return absence


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def read_directory(path: Path) -> Directory:
    if path.suffix.lower() == ".csv":
        return parse(directorycsv.read(path), path)
    return parse(load_yaml(path, DIRECTORY), path)
