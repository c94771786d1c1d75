"""`duban directory import|show` and `duban leave add`: who is told, and who stands in."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from activities import directory as store
from starter import commands
from starter.cli import common
from starter.db import open_pool
from starter.directoryfile import add_leave, read_directory


def register(sub: common.Subparsers) -> None:
    dire = sub.add_parser("directory", help="people, units and who holds which role")
    dsub = dire.add_subparsers(dest="directory_command", required=True, metavar="COMMAND")
    imp = dsub.add_parser(
        "import",
        parents=[common.COMMON],
        help="replace the directory from a YAML or CSV file (all or nothing)",
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)
    show = dsub.add_parser("show", parents=[common.COMMON], help="the directory as it stands")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)

    leave = sub.add_parser("leave", help="absences and their stand-ins (缺位递补)")
    lsub = leave.add_subparsers(dest="leave_command", required=True, metavar="COMMAND")
    add = lsub.add_parser(
        "add", parents=[common.COMMON], help="PERSON is away; STAND-IN acts for them"
    )
    add.add_argument("person")
    add.add_argument("--from", dest="starts", required=True, help="YYYY-MM-DD")
    add.add_argument("--to", dest="ends", required=True, help="YYYY-MM-DD")
    add.add_argument("--stand-in", dest="stand_in", required=True)
    add.set_defaults(handler=_leave)


async def _import(args: argparse.Namespace) -> None:
    directory = read_directory(args.file)
    async with open_pool(common.data_dir(args)) as pool:
        await store.replace(pool, directory)
    print(
        f"imported {len(directory.people)} people, {len(directory.units)} units, "
        f"{len(directory.holders)} roles, {len(directory.absences)} absences"
    )


async def _show(args: argparse.Namespace) -> None:
    async with open_pool(common.data_dir(args)) as pool:
        current = await store.load(pool)
    print(commands.dumps(directory_json(current)) if args.json else directory_text(current))


async def _leave(args: argparse.Namespace) -> None:
    leave = {"person": args.person, "from": args.starts, "to": args.ends, "stand_in": args.stand_in}
    async with open_pool(common.data_dir(args)) as pool:
        absence = add_leave(await store.load(pool), "leave", leave)
        await store.add_absences(pool, [absence])
    print(
        f"{absence.person_id} away {absence.starts_on} to {absence.ends_on}; "
        f"{absence.stand_in_id} stands in"
    )


def directory_json(d: store.Directory) -> dict[str, Any]:
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


def directory_text(d: store.Directory) -> str:
    lines = ["roles"]
    for (role, unit), pid in sorted(d.holders.items()):
        person = d.people[pid]
        lines.append(f"  {role:<26} {unit:<12} {person.name} ({pid}; {', '.join(person.contacts)})")
    if d.absences:
        lines.append("absences")
        for a in d.absences:
            lines.append(f"  {a.person_id} {a.starts_on} to {a.ends_on}: {a.stand_in_id} stands in")
    return "\n".join(lines)
