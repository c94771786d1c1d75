"""`duban`: run the stack, start tasks, send departments' messages, show and list tasks."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client

from starter import commands, stackfile
from workflows.contracts import Message
from workflows.errors import DubanError

ACTIONS = {
    "receive": "the lead unit signs for the task (签收)",
    "deploy": "the lead unit has deployed the work (部署)",
    "report": "the lead unit reports: --kind plan|progress|completion --text ...",
    "verify": "the assigning unit verifies the completion and closes the task (核实销号)",
    "reject": "the assigning unit sends a completion back, with --text giving the reason",
    "ack": "the holder of the current escalation level takes the matter up",
    "withdraw": "the assigning unit withdraws the task, with --text giving the reason",
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

    for action, help_text in ACTIONS.items():
        p = tsub.add_parser(action, parents=[common], help=help_text, description=help_text)
        p.add_argument("id", help="the task id")
        p.add_argument("--unit", required=True, help="the unit sending the message")
        p.add_argument("--by", required=True, help="the person sending it")
        p.add_argument("--text", default="", help="the report, reason or note")
        if action == "report":
            p.add_argument("--kind", required=True, choices=["plan", "progress", "completion"])
        if action == "ack":
            p.add_argument(
                "--role",
                choices=["lead_unit", "deputy_secretary_general", "principal_leader"],
                help="the escalation level taking the matter up",
            )
        p.add_argument(
            "--signal", action="store_true", help="fire and forget (a refusal is only recorded)"
        )

    show = tsub.add_parser("show", parents=[common], help="a task's state, deadlines and record")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")

    lst = tsub.add_parser("list", parents=[common], help="tasks, filtered")
    lst.add_argument("--stage")
    lst.add_argument("--unit", help="lead unit")
    lst.add_argument("--overdue", action="store_true", help="escalated or past their deadline")
    lst.add_argument("--json", action="store_true")
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
        state = await commands.show(client, args.id)
        print(commands.dumps(commands.show_json(state)) if args.json else commands.show_text(state))
    elif cmd == "list":
        rows = await commands.list_tasks(client, args.stage, args.unit, args.overdue)
        print(commands.dumps(rows) if args.json else commands.list_text(rows))
    else:
        message = Message(
            unit=args.unit,
            by=args.by,
            text=args.text,
            kind=getattr(args, "kind", None),
            role=getattr(args, "role", None),
        )
        accepted = await commands.send_message(client, args.id, cmd, message, args.signal)
        if accepted is None:
            print(f"{args.id}: {cmd} sent as a signal")
        else:
            print(f"{args.id}: {cmd} accepted (event {accepted.seq}); stage {accepted.stage.value}")
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
