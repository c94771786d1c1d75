"""Running the app on uvicorn: alone (`duban serve`, stopped by SIGINT or SIGTERM) or in a
process that has its own signals (`duban up`, the tests): then it stops when told to."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from workflows.errors import DubanError


class _Embedded(uvicorn.Server):
    """A server that leaves SIGINT and SIGTERM to the event loop it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _config(app: FastAPI, host: str, port: int, alone: bool) -> uvicorn.Config:
    # log_config=None: uvicorn's records go through the process's logging (worker.logs).
    # Beside the worker it says only what goes wrong, and `duban up`'s banner comes first.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level="info" if alone else "warning",
        access_log=alone,
        lifespan="on",
    )


async def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight and return (exit 0,
    as `duban up` does); a port that cannot be bound is one clear line."""
    server = _Embedded(_config(app, host, port, alone=True))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    with contextlib.suppress(SystemExit):  # uvicorn exits when it cannot bind: said below
        await server.serve()
    if not server.started:
        raise DubanError(f"the HTTP API could not start on {host}:{port} (see the log above)")


@contextlib.asynccontextmanager
async def beside(app: FastAPI, host: str, port: int) -> AsyncIterator[str]:
    """Serve in this process's event loop while the block runs; yields the base URL."""
    server = _Embedded(_config(app, host, port, alone=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            # uvicorn logs why (a port in use, a lifespan that failed) and exits
            with contextlib.suppress(BaseException):
                task.result()
            raise DubanError(f"the HTTP API could not start on {host}:{port}")
        await asyncio.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
