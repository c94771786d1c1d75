"""`duban serve`: the HTTP API alone, for production (stateless: run as many as needed
behind a load balancer), against TEMPORAL_ADDRESS and DUBAN_DATABASE_URL or the stack
`duban up` runs."""

from __future__ import annotations

import argparse

from temporalio.client import Client

from starter.cli import common


def register(sub: common.Subparsers) -> None:
    from starter.http.settings import HttpSettings

    defaults = HttpSettings()
    serve = sub.add_parser(
        "serve", parents=[common.COMMON], help="run the HTTP API (docs at /docs)"
    )
    serve.add_argument(
        "--host", default=defaults.http_host, help="default 127.0.0.1 (or DUBAN_HTTP_HOST)"
    )
    serve.add_argument(
        "--port", type=int, default=defaults.http_port, help="default 8080 (or DUBAN_HTTP_PORT)"
    )
    serve.set_defaults(handler=_serve)


async def _serve(args: argparse.Namespace) -> None:
    from starter.db import database_url
    from starter.http.app import create_app
    from starter.http.server import serve
    from starter.http.settings import HttpSettings
    from worker import logs
    from worker.client import settings

    logs.configure()
    url = database_url(common.data_dir(args))
    client = await common.client(args)  # unreachable: one line now, not a failed startup

    async def connected() -> Client:
        return client

    http = HttpSettings(data_dir=common.data_dir(args), http_port=args.port)
    await serve(create_app(http, connected, url, settings().task_queue), args.host, args.port)
