"""`duban ops setup`: duban's search attributes and the digest's Schedule on a cluster.
`duban ops doctor`: whether Temporal and PostgreSQL answer and whether any task is stuck."""

from __future__ import annotations

import argparse

from temporalio.client import Client

from starter import doctor, ops
from starter.cli import common
from worker.client import settings
from workflows.errors import DubanError


def register(sub: common.Subparsers) -> None:
    group = sub.add_parser("ops", help="operating duban on an existing cluster")
    osub = group.add_subparsers(dest="ops_command", required=True, metavar="COMMAND")
    setup = osub.add_parser(
        "setup",
        parents=[common.COMMON],
        help="register duban's search attributes and the weekly digest (safe to run twice)",
    )
    setup.set_defaults(handler=_setup)
    check = osub.add_parser(
        "doctor",
        parents=[common.COMMON],
        help="do Temporal and PostgreSQL answer; is any task stuck (exit 1 if anything is wrong)",
        description="One line for Temporal, one for PostgreSQL (ok, or what is wrong), then "
        "every running task on the task queue whose workflow task keeps failing or whose "
        "activity is past its tenth attempt, with the reason. Exit 0 when all is well.",
    )
    check.set_defaults(handler=_doctor)


async def _setup(args: argparse.Namespace) -> None:
    client = await common.client(args)
    for line in await ops.setup(client):
        print(line)
    s = settings()
    print(await ops.ensure_digest_schedule(client, s.task_queue, s.timezone))


async def _doctor(args: argparse.Namespace) -> None:
    try:
        client: Client | str = await common.client(args)
    except DubanError as err:
        client = str(err)
    report = await doctor.examine(client, common.data_dir(args), settings().task_queue)
    for line in report.lines():
        print(line, flush=True)
    problem = report.problem()
    if problem is not None:
        raise DubanError(problem)
