"""`duban directory import|show` and `duban leave add`: who is told, and who stands in."""

from __future__ import annotations

import argparse
from typing import Any

from activities import directory as store
from starter import commands, stackfile
from starter.db import open_pool
from starter.directoryfile import add_leave, read_directory
from workflows.errors import DubanError


async def directory_command(args: argparse.Namespace) -> int:
    async with open_pool(stackfile.data_dir(args.data_dir)) as pool:
        if args.command == "leave":
            current = await store.load(pool)
            leave = {
                "person": args.person,
                "from": args.starts,
                "to": args.ends,
                "stand_in": args.stand_in,
            }
            absence = add_leave(current, "leave", leave)
            await store.add_absences(pool, [absence])
            print(
                f"{absence.person_id} away {absence.starts_on} to {absence.ends_on}; "
                f"{absence.stand_in_id} stands in"
            )
        elif args.directory_command == "import":
            directory = read_directory(args.file)
            await store.replace(pool, directory)
            print(
                f"imported {len(directory.people)} people, {len(directory.units)} units, "
                f"{len(directory.holders)} roles, {len(directory.absences)} absences"
            )
        else:
            current = await store.load(pool)
            print(commands.dumps(directory_json(current)) if args.json else directory_text(current))
    return 0


def directory_json(d: Any) -> dict[str, Any]:
    return {
        "people": {p.id: {"name": p.name, "channels": list(p.contacts)} for p in d.people.values()},
        "roles": [
            {"role": r, "unit": u, "person": pid} for (r, u), pid in sorted(d.holders.items())
        ],
        "absences": [
            {
                "person": a.person_id,
                "from": str(a.starts_on),
                "to": str(a.ends_on),
                "stand_in": a.stand_in_id,
            }
            for a in d.absences
        ],
    }


def directory_text(d: Any) -> str:
    lines = ["roles"]
    for (role, unit), pid in sorted(d.holders.items()):
        person = d.people[pid]
        lines.append(f"  {role:<26} {unit:<12} {person.name} ({pid}; {', '.join(person.contacts)})")
    if d.absences:
        lines.append("absences")
        for a in d.absences:
            lines.append(f"  {a.person_id} {a.starts_on} to {a.ends_on}: {a.stand_in_id} stands in")
    return "\n".join(lines)


async def digest_preview(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activities.digest import compose

    async with open_pool(stackfile.data_dir(args.data_dir)) as pool:
        directory = await store.load(pool)
        if args.person not in directory.people:
            raise DubanError(f"no person {args.person!r} in the directory")
        now = datetime.now(UTC)
        digests = {d.person_id: d for d in await compose(pool, directory, now)}
    if args.person not in digests:
        raise DubanError(f"{args.person} leads nothing a digest goes to")
    year, week, _ = now.isocalendar()
    print(digests[args.person].text(directory.people[args.person].name, f"{year}年第{week}周"))
    return 0
