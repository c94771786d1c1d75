"""What every command group shares: --data-dir, the Temporal client, the operator."""

from __future__ import annotations

import argparse
import getpass
import re
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeAlias

from temporalio.client import Client

from starter import stackfile
from worker.client import connect
from workflows.contracts import Actor
from workflows.errors import DubanError
from workflows.names import Via

# What `set_defaults(handler=...)` names: the command's work, run on the event loop.
Handler: TypeAlias = Callable[[argparse.Namespace], Coroutine[Any, Any, None]]
# The object each group's `register(sub)` adds its parsers to.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class Parser(argparse.ArgumentParser):
    """argparse with a one-line refusal for a wrong command line, like every other refusal."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# The option every command takes: which `duban up` it talks to.
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument(
    "--data-dir", help="where `duban up` keeps its state (default .duban, or DUBAN_DATA_DIR)"
)


def data_dir(args: argparse.Namespace) -> Path:
    return stackfile.data_dir(args.data_dir)


async def client(args: argparse.Namespace) -> Client:
    """A client for TEMPORAL_ADDRESS, or else the stack `duban up` runs in --data-dir."""
    directory = data_dir(args)
    address = stackfile.temporal_address(directory)
    info = stackfile.read(directory)
    try:
        return await connect(address, info.namespace if info else None, data_dir=directory)
    except RuntimeError as err:
        # The transport's own words are a page of Rust; its OS message says it all.
        found = re.search(r'message: "([^"]+)"', str(err))
        reason = found.group(1) if found else str(err).removeprefix("Failed client connect: ")
        raise DubanError(f"cannot reach Temporal at {address}: {reason}") from err


def operator(unit: str) -> Actor:
    """The person at this command line, acting for `unit`: the login is who they are."""
    return Actor(person=getpass.getuser(), role="operator", unit=unit, via=Via.CLI)
