"""`duban task start|<message>|show|list|history`: one task's life from the command line."""

from __future__ import annotations

import argparse
import getpass
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from starter import commands
from starter.cli import common
from starter.taskfile import explain, load_task
from worker.client import settings
from workflows.contracts import Message
from workflows.errors import DubanError
from workflows.names import Action, Stage


def register(sub: common.Subparsers) -> None:
    task = sub.add_parser("task", help="start, message, show and list tasks")
    tsub = task.add_subparsers(dest="task_command", required=True, metavar="COMMAND")
    _register_start(tsub)
    _register_import(tsub)
    _register_messages(tsub)
    _register_show(tsub)
    _register_list(tsub)
    _register_history(tsub)


def _register_start(tsub: common.Subparsers) -> None:
    p = tsub.add_parser("start", parents=[common.COMMON], help="start a task from a YAML/JSON file")
    p.add_argument("file", type=Path)
    p.add_argument("--by", default=None, help="who assigns it (default: your login name)")
    p.set_defaults(handler=_start)


async def _start(args: argparse.Namespace) -> None:
    load_task(args.file, commands.today())  # a file refused is refused with no stack running
    client = await common.client(args)
    by = args.by or getpass.getuser()
    print(await commands.start_task(client, args.file, settings().task_queue, by))


def _register_import(tsub: common.Subparsers) -> None:
    p = tsub.add_parser(
        "import",
        parents=[common.COMMON],
        help="start every task of the ledger spreadsheet (xlsx or CSV), all or nothing",
        description="Start one task per row of the office's ledger (督办台账): headers 事项、"
        "交办依据、交办单位、牵头单位、协办单位、工作标准、完成时限、紧急程度 (编号, 督办策略 "
        "optional). Every row is checked first; one refused row and nothing starts.",
    )
    p.add_argument("file", type=Path, help="the ledger, .xlsx or .csv (UTF-8 or GB18030)")
    p.add_argument("--policy", default=None, help="a built-in policy for rows without 督办策略")
    p.add_argument("--by", default=None, help="who assigns them (default: your login name)")
    p.add_argument("--check", action="store_true", help="check every row; start nothing")
    p.set_defaults(handler=_import)


async def _import(args: argparse.Namespace) -> None:
    import sys

    from activities import directory as store
    from starter import assign, ledgerfile, safefile
    from starter.db import open_pool

    ledger = ledgerfile.read(args.file)  # a file refused is refused with no stack running
    content = safefile.read_bytes(args.file, ledgerfile.LEDGER)
    async with open_pool(common.data_dir(args)) as pool:
        directory = await store.load(pool)
        rows = assign.check_ledger(ledger, content, directory, commands.today(), policy=args.policy)
        client = await common.client(args)
        await assign.already(pool, rows, client)
    bad = assign.refused(rows)
    if bad:
        more = f"; {len(bad) - 1} more rows refused" if len(bad) > 1 else ""
        raise DubanError(
            f"{args.file}:{bad[0].line}: {bad[0].refusal} ({len(rows)} rows{more}; "
            "nothing imported)"
        )
    if args.check:
        print(f"{args.file}: {len(rows)} rows, every one can be assigned", file=sys.stderr)
        return
    by = args.by or getpass.getuser()
    for task_id in await assign.start_all(client, rows, settings().task_queue, by):
        print(task_id)
    print(f"duban: {len(rows)} tasks imported from {args.file}", file=sys.stderr)


# command -> (the update it sends, what it is for, its own options)
MESSAGES: dict[str, tuple[Action, str, tuple[str, ...]]] = {
    "receive": (Action.RECEIVE, "the lead unit (or a co-unit) signs for the task (签收)", ()),
    "deploy": (Action.DEPLOY, "the lead unit has deployed the work (部署)", ()),
    "report": (
        Action.REPORT,
        "the lead unit reports: --kind plan|progress|completion --text",
        ("kind",),
    ),
    "verify": (
        Action.VERIFY,
        "the assigning unit verifies the completion and closes it (核实销号)",
        (),
    ),
    "reject": (Action.REJECT, "the assigning unit sends a completion back; --text the reason", ()),
    "ack": (
        Action.ACK,
        "the holder of the current escalation level takes the matter up",
        ("role",),
    ),
    "withdraw": (Action.WITHDRAW, "the assigning unit withdraws the task; --text the reason", ()),
    "raise-urgency": (
        Action.RAISE_URGENCY,
        "the assigning unit raises the urgency: --urgency important|urgent",
        ("urgency",),
    ),
    "difficulty": (Action.DIFFICULTY, "the lead unit reports a difficulty (执行困难, S0 §3)", ()),
    "answer-difficulty": (
        Action.ANSWER_DIFFICULTY,
        "the office answers a difficulty: --decision continue|suspend|new_approach",
        ("decision",),
    ),
    "resume": (Action.RESUME, "the office resumes a suspended task", ()),
    "extend": (
        Action.REQUEST_EXTENSION,
        "the lead unit asks for more time: --until DATE --text reason",
        ("until",),
    ),
    "decide-extension": (
        Action.DECIDE_EXTENSION,
        "the approver answers: --decision approve|refuse",
        ("decision",),
    ),
    "contribute": (Action.CONTRIBUTE, "a co-unit files its contribution to the lead unit", ()),
    "disagree": (Action.DISAGREE, "a unit raises a disagreement for coordination (S0 §7)", ()),
    "resolve": (
        Action.RESOLVE,
        "the coordination level resolves a disagreement: --role, --text",
        ("role",),
    ),
}


def _register_messages(tsub: common.Subparsers) -> None:
    for command, (action, help_text, options) in MESSAGES.items():
        p = tsub.add_parser(command, parents=[common.COMMON], help=help_text, description=help_text)
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
        p.set_defaults(handler=_send, action=action)


async def _send(args: argparse.Namespace) -> None:
    message = _message(args)
    client = await common.client(args)
    accepted = await commands.send_message(client, args.id, args.action, message, args.signal)
    command = args.task_command
    if accepted is None:
        print(f"{args.id}: {command} sent as a signal")
    else:
        print(f"{args.id}: {command} accepted (event {accepted.seq}); stage {accepted.stage.value}")


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
            actor=common.operator(args.unit),
        )
    except ValidationError as err:
        raise DubanError(explain(err)) from err


def _register_show(tsub: common.Subparsers) -> None:
    p = tsub.add_parser(
        "show", parents=[common.COMMON], help="a task's state, deadlines and record"
    )
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_show)


async def _show(args: argparse.Namespace) -> None:
    state, run_id = await commands.show(await common.client(args), args.id)
    if args.json:
        print(commands.dumps(commands.show_json(state, run_id)))
    else:
        print(commands.show_text(state))


def _register_list(tsub: common.Subparsers) -> None:
    p = tsub.add_parser("list", parents=[common.COMMON], help="tasks, filtered")
    p.add_argument("--stage", choices=[s.value for s in Stage])
    p.add_argument("--unit", help="a unit on the task: lead or co-unit")
    p.add_argument("--light", choices=["green", "yellow", "red", "grey"])
    p.add_argument("--overdue", action="store_true", help="escalated or past their deadline")
    p.add_argument("--assigning-unit", help="the unit that assigned it")
    p.add_argument("--urgency", choices=["normal", "important", "urgent"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)


async def _list(args: argparse.Namespace) -> None:
    client = await common.client(args)
    rows = await commands.list_tasks(
        client,
        args.stage,
        args.unit,
        args.overdue,
        args.light,
        args.assigning_unit,
        args.urgency,
    )
    print(commands.dumps(rows) if args.json else commands.list_text(rows))


def _register_history(tsub: common.Subparsers) -> None:
    p = tsub.add_parser(
        "history", parents=[common.COMMON], help="a task's timeline from the ledger"
    )
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_history)


async def _history(args: argparse.Namespace) -> None:
    from activities.ledger import task_history
    from starter.db import open_pool

    async with open_pool(common.data_dir(args)) as pool:
        rows = await task_history(pool, args.id)
    if not rows:
        raise DubanError(f"no task {args.id} in the ledger")
    print(commands.dumps(rows) if args.json else commands.history_text(rows))
