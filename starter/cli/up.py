"""`duban up`: Temporal's dev server, an embedded PostgreSQL and the worker (starter/stack.py)."""

from __future__ import annotations

import argparse

from starter.cli import common


def register(sub: common.Subparsers) -> None:
    up = sub.add_parser(
        "up", parents=[common.COMMON], help="run Temporal, PostgreSQL and the worker"
    )
    up.add_argument("--temporal-port", type=int, default=7233)
    up.add_argument("--ui-port", type=int, default=8233)
    up.add_argument(
        "--http-port", type=int, default=None, help="the HTTP API's (default 8080, DUBAN_HTTP_PORT)"
    )
    up.set_defaults(handler=_up)


async def _up(args: argparse.Namespace) -> None:
    from starter.stack import up  # the worker and the servers: only this command needs them

    await up(common.data_dir(args), args.temporal_port, args.ui_port, args.http_port)
