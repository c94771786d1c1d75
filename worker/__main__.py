"""`python -m worker`: the production worker, against TEMPORAL_ADDRESS and DUBAN_DATABASE_URL."""

from __future__ import annotations

import asyncio
import signal

from worker import logs
from worker.client import connect
from worker.keys import CodecKeyError
from worker.main import run
from worker.settings import Settings
from worker.telemetry import configure_tracing, runtime


async def _main() -> None:
    logs.configure()
    settings = Settings()
    configure_tracing()
    try:
        client = await connect(runtime=runtime(settings.metrics_port, settings.metrics_host))
    except CodecKeyError as err:  # no payload keys: one line, as for a missing database
        raise SystemExit(f"duban worker: {err}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, client, stop)


if __name__ == "__main__":
    asyncio.run(_main())
