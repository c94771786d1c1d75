"""`duban report monthly|quarterly|annual` and `duban digest preview`: what the ledger tells
leaders."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

from starter.cli import common
from starter.db import open_pool
from workflows.errors import DubanError


def register(sub: common.Subparsers) -> None:
    rep = sub.add_parser("report", help="written reports from the ledger")
    rsub = rep.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    mon = rsub.add_parser(
        "monthly", parents=[common.COMMON], help="a unit's month, as CSV or Excel"
    )
    mon.add_argument("unit")
    mon.add_argument("--month", required=True, help="YYYY-MM")
    mon.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    mon.add_argument("--out", type=Path, required=True)
    mon.set_defaults(handler=_monthly)
    for kind, option, example, what in (
        ("quarterly", "--quarter", "2026-Q4", "the quarterly assessment (季度考核), as Excel"),
        ("annual", "--year", "2026", "the annual assessment (年度考核), as Excel"),
    ):
        p = rsub.add_parser(kind, parents=[common.COMMON], help=what, description=what)
        p.add_argument(option, dest="period", help=f"{example} (default: the current one)")
        p.add_argument("--assigning-unit", help="only the tasks this unit assigned")
        p.add_argument("--urgency", choices=["normal", "important", "urgent"])
        p.add_argument("--out", type=Path, help="the file (default duban-<kind>-<period>.xlsx)")
        p.set_defaults(handler=_assessment, kind="quarter" if kind == "quarterly" else "year")

    dig = sub.add_parser("digest", help="the weekly digest for leaders")
    dsub = dig.add_subparsers(dest="digest_command", required=True, metavar="COMMAND")
    prev = dsub.add_parser("preview", parents=[common.COMMON], help="print a leader's digest now")
    prev.add_argument("person", help="the leader's id in the directory")
    prev.set_defaults(handler=_digest_preview)


async def _monthly(args: argparse.Namespace) -> None:
    from activities.report import monthly_rows, to_csv, to_xlsx

    try:
        month = date.fromisoformat(f"{args.month}-01")
    except ValueError:
        raise DubanError(f"--month {args.month!r}: write YYYY-MM") from None
    async with open_pool(common.data_dir(args)) as pool:
        rows = await monthly_rows(pool, args.unit, month)
    if not rows:
        raise DubanError(f"{args.unit} leads no task in the ledger up to {args.month}")
    data = to_csv(rows) if args.format == "csv" else to_xlsx(rows, args.unit, month)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(rows)} tasks of {args.unit}, {args.month}")


async def _assessment(args: argparse.Namespace) -> None:
    from activities.assessment import file_name, workbook
    from activities.board import Filters
    from activities.periods import Period, PeriodError
    from worker.client import settings

    now = datetime.now(UTC)
    try:
        period = (
            Period.parse(args.period) if args.period else Period.containing(now.date(), args.kind)
        )
    except PeriodError as err:
        raise DubanError(str(err)) from None
    if period.kind != args.kind:
        raise DubanError(f"{args.period!r} is not a {args.kind}: write e.g. 2026-Q4 or 2026")
    filters = Filters(period, args.assigning_unit, args.urgency)
    async with open_pool(common.data_dir(args)) as pool:
        data = await workbook(pool, filters, now, settings().closing_time)
    out: Path = args.out or Path(file_name(period))
    out.write_bytes(data)
    print(f"{out}: {period.label}")


async def _digest_preview(args: argparse.Namespace) -> None:
    from activities import directory as store
    from activities.digest import compose

    async with open_pool(common.data_dir(args)) as pool:
        directory = await store.load(pool)
        if args.person not in directory.people:
            raise DubanError(f"no person {args.person!r} in the directory")
        now = datetime.now(UTC)
        digests = {d.person_id: d for d in await compose(pool, directory, now)}
    if args.person not in digests:
        raise DubanError(f"{args.person} leads nothing a digest goes to")
    year, week, _ = now.isocalendar()
    print(digests[args.person].text(directory.people[args.person].name, f"{year}年第{week}周"))
