"""The ledger's PostgreSQL, for the commands that read or write it directly."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from activities.migrations import migrate
from starter import stackfile
from workflows.errors import DubanError


def database_url(directory: Path) -> str:
    if os.environ.get("DUBAN_DATABASE_URL"):
        return os.environ["DUBAN_DATABASE_URL"]
    info = stackfile.read(directory)
    if info is None:
        raise DubanError(
            f"no running duban found in {directory}/ (start one with `duban up`, "
            "or set DUBAN_DATABASE_URL)"
        )
    return info.database_url


@contextlib.asynccontextmanager
async def open_pool(directory: Path) -> AsyncIterator[asyncpg.Pool]:
    url = database_url(directory)
    try:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    except (OSError, asyncpg.PostgresError) as err:
        raise DubanError(f"cannot reach PostgreSQL: {err}") from err
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        yield pool
    finally:
        await pool.close()
