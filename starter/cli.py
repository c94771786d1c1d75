"""`duban`: run the stack, start tasks, send departments' messages, show and list tasks."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client

from activities.calendar import WorkingCalendar
from starter import commands, stackfile
from starter.db import open_pool
from starter.ops import ensure_digest_schedule, setup
from starter.taskfile import explain
from workflows.contracts import Message
from workflows.errors import DubanError

# command -> (the update it sends, what it is for, its own options)
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "receive": ("receive", "the lead unit (or a co-unit) signs for the task (签收)", ()),
    "deploy": ("deploy", "the lead unit has deployed the work (部署)", ()),
    "report": (
        "report",
        "the lead unit reports: --kind plan|progress|completion --text",
        ("kind",),
    ),
    "verify": ("verify", "the assigning unit verifies the completion and closes it (核实销号)", ()),
    "reject": ("reject", "the assigning unit sends a completion back; --text the reason", ()),
    "ack": ("ack", "the holder of the current escalation level takes the matter up", ("role",)),
    "withdraw": ("withdraw", "the assigning unit withdraws the task; --text the reason", ()),
    "raise-urgency": (
        "raise_urgency",
        "the assigning unit raises the urgency: --urgency important|urgent",
        ("urgency",),
    ),
    "difficulty": ("difficulty", "the lead unit reports a difficulty (执行困难, S0 §3)", ()),
    "answer-difficulty": (
        "answer_difficulty",
        "the office answers a difficulty: --decision continue|suspend|new_approach",
        ("decision",),
    ),
    "resume": ("resume", "the office resumes a suspended task", ()),
    "extend": (
        "request_extension",
        "the lead unit asks for more time: --until DATE --text reason",
        ("until",),
    ),
    "decide-extension": (
        "decide_extension",
        "the approver answers: --decision approve|refuse",
        ("decision",),
    ),
    "contribute": ("contribute", "a co-unit files its contribution to the lead unit", ()),
    "disagree": ("disagree", "a unit raises a disagreement for coordination (S0 §7)", ()),
    "resolve": (
        "resolve",
        "the coordination level resolves a disagreement: --role, --text",
        ("role",),
    ),
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", help="where `duban up` keeps its state (default .duban, or DUBAN_DATA_DIR)"
    )
    parser = argparse.ArgumentParser(
        prog="duban", description="督办: durable supervision of assigned tasks on Temporal."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", parents=[common], help="run Temporal, PostgreSQL and the worker")
    up.add_argument("--temporal-port", type=int, default=7233)
    up.add_argument("--ui-port", type=int, default=8233)

    task = sub.add_parser("task", help="start, message, show and list tasks")
    tsub = task.add_subparsers(dest="task_command", required=True)

    start = tsub.add_parser("start", parents=[common], help="start a task from a YAML/JSON file")
    start.add_argument("file", type=Path)
    start.add_argument("--by", default=None, help="who assigns it (default: your login name)")

    for command, (_, help_text, options) in ACTIONS.items():
        p = tsub.add_parser(command, parents=[common], help=help_text, description=help_text)
        p.add_argument("id", help="the task id")
        p.add_argument("--unit", required=True, help="the unit sending the message")
        p.add_argument("--by", required=True, help="the person sending it")
        p.add_argument("--text", default="", help="the report, reason or note")
        if "kind" in options:
            p.add_argument("--kind", required=True, choices=["plan", "progress", "completion"])
        if "role" in options:
            p.add_argument(
                "--role",
                help="ack: lead_unit|deputy_secretary_general|principal_leader; "
                "resolve: office|leader_in_charge|principal_leader",
            )
        if "urgency" in options:
            p.add_argument("--urgency", required=True, help="important or urgent")
        if "decision" in options:
            p.add_argument("--decision", required=True, help=help_text.split(": ")[-1])
        if "until" in options:
            p.add_argument("--until", required=True, help="the date asked for, YYYY-MM-DD")
        p.add_argument(
            "--signal", action="store_true", help="fire and forget (a refusal is only recorded)"
        )

    show = tsub.add_parser("show", parents=[common], help="a task's state, deadlines and record")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")

    lst = tsub.add_parser("list", parents=[common], help="tasks, filtered")
    lst.add_argument("--stage")
    lst.add_argument("--unit", help="a unit on the task: lead or co-unit")
    lst.add_argument("--light", help="green, yellow, red or grey")
    lst.add_argument("--overdue", action="store_true", help="escalated or past their deadline")
    lst.add_argument("--json", action="store_true")

    hist = tsub.add_parser("history", parents=[common], help="a task's timeline from the ledger")
    hist.add_argument("id")
    hist.add_argument("--json", action="store_true")

    ops = sub.add_parser("ops", help="operating duban on an existing cluster")
    osub = ops.add_subparsers(dest="ops_command", required=True)
    osub.add_parser(
        "setup", parents=[common], help="register duban's search attributes (safe to run twice)"
    )

    dire = sub.add_parser("directory", help="people, units and who holds which role")
    dsub = dire.add_subparsers(dest="directory_command", required=True)
    dimp = dsub.add_parser(
        "import", parents=[common], help="replace the directory from a YAML file (all or nothing)"
    )
    dimp.add_argument("file", type=Path)
    dshow = dsub.add_parser("show", parents=[common], help="the directory as it stands")
    dshow.add_argument("--json", action="store_true")
    leave = sub.add_parser("leave", help="absences and their stand-ins (缺位递补)")
    lsub = leave.add_subparsers(dest="leave_command", required=True)
    ladd = lsub.add_parser("add", parents=[common], help="PERSON is away; STAND-IN acts for them")
    ladd.add_argument("person")
    ladd.add_argument("--from", dest="starts", required=True, help="YYYY-MM-DD")
    ladd.add_argument("--to", dest="ends", required=True, help="YYYY-MM-DD")
    ladd.add_argument("--stand-in", dest="stand_in", required=True)

    tpl = sub.add_parser("templates", help="the notices' editable texts")
    tsub2 = tpl.add_subparsers(dest="templates_command", required=True)
    timp = tsub2.add_parser("import", parents=[common], help="replace the templates (YAML)")
    timp.add_argument("file", type=Path)

    rep = sub.add_parser("report", help="written reports from the ledger")
    rsub = rep.add_subparsers(dest="report_command", required=True)
    mon = rsub.add_parser("monthly", parents=[common], help="a unit's month, as CSV or Excel")
    mon.add_argument("unit")
    mon.add_argument("--month", required=True, help="YYYY-MM")
    mon.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    mon.add_argument("--out", type=Path, required=True)

    dig = sub.add_parser("digest", help="the weekly digest for leaders")
    digsub = dig.add_subparsers(dest="digest_command", required=True)
    prev = digsub.add_parser("preview", parents=[common], help="print a leader's digest now")
    prev.add_argument("person", help="the leader's id in the directory")

    cal = sub.add_parser("calendar", help="the working-day calendar")
    csub = cal.add_subparsers(dest="calendar_command", required=True)
    imp = csub.add_parser(
        "import",
        parents=[common],
        help="import days (CSV date,kind[,name], or the yearly list as YAML); re-plan open tasks",
    )
    imp.add_argument("file", type=Path)
    shw = csub.add_parser("show", parents=[common], help="a year's holidays and make-up days")
    shw.add_argument("year", type=int)
    dl = csub.add_parser(
        "deadline", parents=[common], help="when N working days opened at FROM close"
    )
    dl.add_argument("opened", metavar="FROM", help="a date or an ISO datetime")
    dl.add_argument("days", metavar="N", type=int)
    dl.add_argument("--json", action="store_true", help="with the fallback flag and skipped days")
    csub.add_parser("replan", parents=[common], help="make every open task recompute deadlines")
    return parser


async def _client(args: argparse.Namespace) -> Client:
    from worker.main import connect

    directory = stackfile.data_dir(args.data_dir)
    address = stackfile.temporal_address(directory)
    info = stackfile.read(directory)
    try:
        return await connect(address, info.namespace if info else None)
    except RuntimeError as err:
        raise DubanError(f"cannot reach Temporal at {address}: {err}") from err


def _task_queue() -> str:
    from worker.settings import Settings

    return Settings().task_queue


async def _task(args: argparse.Namespace) -> int:
    client = await _client(args)
    cmd = args.task_command
    if cmd == "start":
        by = args.by or getpass.getuser()
        print(await commands.start_task(client, args.file, _task_queue(), by))
    elif cmd == "show":
        state, run_id = await commands.show(client, args.id)
        shown = commands.show_json(state, run_id) if args.json else None
        print(commands.dumps(shown) if shown else commands.show_text(state))
    elif cmd == "list":
        rows = await commands.list_tasks(client, args.stage, args.unit, args.overdue)
        print(commands.dumps(rows) if args.json else commands.list_text(rows))
    else:
        update = ACTIONS[cmd][0]
        message = _message(args)
        accepted = await commands.send_message(client, args.id, update, message, args.signal)
        if accepted is None:
            print(f"{args.id}: {cmd} sent as a signal")
        else:
            print(f"{args.id}: {cmd} accepted (event {accepted.seq}); stage {accepted.stage.value}")
    return 0


def _message(args: argparse.Namespace) -> Message:
    until = getattr(args, "until", None)
    if until is not None:
        try:
            until = date.fromisoformat(until)
        except ValueError:
            raise DubanError(f"--until {until!r} is not a date (YYYY-MM-DD)") from None
    try:
        return Message(
            unit=args.unit,
            by=args.by,
            text=args.text,
            kind=getattr(args, "kind", None),
            role=getattr(args, "role", None),
            decision=getattr(args, "decision", None),
            until=until,
            urgency=getattr(args, "urgency", None),
        )
    except ValidationError as err:
        raise DubanError(explain(err)) from err


async def _calendar(args: argparse.Namespace) -> int:
    from starter import calendar_commands as cc
    from worker.settings import Settings

    settings = Settings()
    directory = stackfile.data_dir(args.data_dir)
    cmd = args.calendar_command
    if cmd == "replan":
        count = await cc.replan_open_tasks(await _client(args), "calendar re-plan asked for")
        print(f"re-planning {count} open tasks")
        return 0
    async with open_pool(directory) as pool:
        if cmd == "import":
            count, years = await cc.import_calendar(pool, args.file)
            print(f"imported {count} days for {', '.join(map(str, years))}")
            try:
                client = await _client(args)
                tasks = await cc.replan_open_tasks(client, f"calendar import {args.file.name}")
            except DubanError as err:
                raise DubanError(
                    f"imported, but open tasks were not re-planned ({err}); "
                    "run `duban calendar replan`"
                ) from err
            print(f"re-planning {tasks} open tasks")
        elif cmd == "show":
            print("\n".join(await cc.show_year(pool, args.year)))
        else:
            calendar = WorkingCalendar(settings.timezone, settings.closing_time)
            opened = cc.parse_opening(args.opened, settings.timezone)
            result = await cc.deadline(pool, calendar, opened, args.days)
            print(commands.dumps(result) if args.json else result["deadline"])
    return 0


async def _templates(args: argparse.Namespace) -> int:
    from activities import templates
    from starter.templatefile import read_templates

    found = read_templates(args.file)
    async with open_pool(stackfile.data_dir(args.data_dir)) as pool:
        await templates.replace(pool, found)
    print(f"imported templates for {', '.join(found)}")
    return 0


async def _monthly_report(args: argparse.Namespace) -> int:
    from activities.report import monthly_rows, to_csv, to_xlsx

    try:
        month = date.fromisoformat(f"{args.month}-01")
    except ValueError:
        raise DubanError(f"--month {args.month!r}: write YYYY-MM") from None
    async with open_pool(stackfile.data_dir(args.data_dir)) as pool:
        rows = await monthly_rows(pool, args.unit, month)
    if not rows:
        raise DubanError(f"{args.unit} leads no task in the ledger up to {args.month}")
    data = to_csv(rows) if args.format == "csv" else to_xlsx(rows, args.unit, month)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(rows)} tasks of {args.unit}, {args.month}")
    return 0


async def _history(args: argparse.Namespace) -> int:
    from activities.ledger import task_history
    from starter.db import open_pool

    async with open_pool(stackfile.data_dir(args.data_dir)) as pool:
        rows = await task_history(pool, args.id)
    if not rows:
        raise DubanError(f"no task {args.id} in the ledger")
    print(commands.dumps(rows) if args.json else commands.history_text(rows))
    return 0


def _run(coro: Callable[[], Awaitable[int]]) -> int:
    try:
        return asyncio.run(coro())  # type: ignore[arg-type]
    except DubanError as err:
        print(f"duban: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    # platformdirs warns on every start where XDG_RUNTIME_DIR is unset (containers, CI).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    args = _parser().parse_args(argv)
    if args.command == "up":
        from starter.stack import up

        directory = stackfile.data_dir(args.data_dir)

        async def go() -> int:
            await up(directory, args.temporal_port, args.ui_port)
            return 0

        return _run(go)

    async def task() -> int:
        if args.command == "calendar":
            return await _calendar(args)
        if args.command in ("directory", "leave"):
            from starter.directory_commands import directory_command

            return await directory_command(args)
        if args.command == "ops":
            from worker.settings import Settings

            settings = Settings()
            client = await _client(args)
            for line in await setup(client):
                print(line)
            print(await ensure_digest_schedule(client, settings.task_queue, settings.timezone))
            return 0
        if args.command == "templates":
            return await _templates(args)
        if args.command == "report":
            return await _monthly_report(args)
        if args.command == "digest":
            from starter.directory_commands import digest_preview

            return await digest_preview(args)
        if args.task_command == "history":
            return await _history(args)
        return await _task(args)

    return _run(task)


def entry(*_: Any) -> None:
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal core runtime's threads can abort the interpreter's finalisation
    # ("PyGILState_Release ... finalizing"); everything is done and flushed, so leave now.
    os._exit(code)


if __name__ == "__main__":
    entry()
