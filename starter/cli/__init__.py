"""`duban`: the command line. One module per command group, each with `register(sub)` that
adds its parsers, every one naming its handler beside its options; a new group is one new
module and one line in GROUPS. Errors become one line on stderr here, and nowhere else."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from types import ModuleType
from typing import Any

from starter.cli import (
    calendar,
    codec,
    common,
    directory,
    login,
    ops,
    refusals,
    report,
    serve,
    task,
    templates,
    token,
    up,
)

GROUPS: tuple[ModuleType, ...] = (
    up,
    task,
    calendar,
    directory,
    templates,
    report,
    ops,
    token,
    login,
    serve,
    codec,
)


def parser() -> argparse.ArgumentParser:
    root = common.Parser(
        prog="duban", description="督办: durable supervision of assigned tasks on Temporal."
    )
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    # platformdirs warns on every start where XDG_RUNTIME_DIR is unset (containers, CI).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    args = parser().parse_args(argv)
    handler: common.Handler = args.handler
    try:
        asyncio.run(handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        reason = refusals.one_line(err)
        if reason is None:
            raise  # a defect: its traceback is what whoever fixes it needs
        print(f"duban: {reason}", file=sys.stderr)
        return 1
    return 0


def entry(*_: Any) -> None:
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal core runtime's threads can abort the interpreter's finalisation
    # ("PyGILState_Release ... finalizing"); everything is done and flushed, so leave now.
    os._exit(code)


if __name__ == "__main__":
    entry()
