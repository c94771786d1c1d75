"""`duban calendar import|show|deadline|replan`: the working-day calendar for operators."""

from __future__ import annotations

import argparse
from pathlib import Path

from temporalio.service import RPCError

from starter import calendar_commands as cc
from starter import commands
from starter.calendarfile import read_calendar
from starter.cli import common
from starter.db import open_pool
from worker.client import settings
from workflows.errors import DubanError


def register(sub: common.Subparsers) -> None:
    cal = sub.add_parser("calendar", help="the working-day calendar")
    csub = cal.add_subparsers(dest="calendar_command", required=True, metavar="COMMAND")

    imp = csub.add_parser(
        "import",
        parents=[common.COMMON],
        help="import days (CSV date,kind[,name], or the yearly list as YAML); re-plan open tasks",
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)

    show = csub.add_parser(
        "show", parents=[common.COMMON], help="a year's holidays and make-up days"
    )
    show.add_argument("year", type=int)
    show.set_defaults(handler=_show)

    dl = csub.add_parser(
        "deadline", parents=[common.COMMON], help="when N working days opened at FROM close"
    )
    dl.add_argument("opened", metavar="FROM", help="a date or an ISO datetime")
    dl.add_argument("days", metavar="N", type=int)
    dl.add_argument("--json", action="store_true", help="with the fallback flag and skipped days")
    dl.set_defaults(handler=_deadline)

    replan = csub.add_parser(
        "replan", parents=[common.COMMON], help="make every open task recompute deadlines"
    )
    replan.set_defaults(handler=_replan)


async def _import(args: argparse.Namespace) -> None:
    rows = read_calendar(args.file)  # a file refused is refused with no stack running
    async with open_pool(common.data_dir(args)) as pool:
        count, years = await cc.import_calendar(pool, rows)
    print(f"imported {count} days for {', '.join(map(str, years))}")
    try:
        client = await common.client(args)
        tasks = await cc.replan_open_tasks(client, f"calendar import {args.file.name}")
    except (DubanError, RPCError) as err:
        raise DubanError(
            f"imported, but open tasks were not re-planned ({err}); run `duban calendar replan`"
        ) from err
    print(f"re-planning {tasks} open tasks")


async def _show(args: argparse.Namespace) -> None:
    async with open_pool(common.data_dir(args)) as pool:
        print("\n".join(await cc.show_year(pool, args.year)))


async def _deadline(args: argparse.Namespace) -> None:
    from activities.calendar import WorkingCalendar

    s = settings()
    calendar = WorkingCalendar(s.timezone, s.closing_time)
    opened = cc.parse_opening(args.opened, s.timezone)
    async with open_pool(common.data_dir(args)) as pool:
        result = await cc.deadline(pool, calendar, opened, args.days)
    print(commands.dumps(result) if args.json else result["deadline"])


async def _replan(args: argparse.Namespace) -> None:
    count = await cc.replan_open_tasks(await common.client(args), "calendar re-plan asked for")
    print(f"re-planning {count} open tasks")
