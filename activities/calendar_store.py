"""The operators' calendar table: import (all or nothing) and read back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import asyncpg

from activities.calendar import Override, Overrides, load_overrides


async def import_days(pool: asyncpg.Pool, rows: Iterable[tuple[date, str, str]]) -> int:
    """Write the rows in one transaction; a day already in the table is revised."""
    values = list(rows)
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3) "
            "ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name, "
            "imported_at = now()",
            values,
        )
    return len(values)


async def year_overrides(pool: asyncpg.Pool, year: int) -> Overrides:
    return await load_overrides(pool, date(year, 1, 1), date(year, 12, 31))


__all__ = ["Override", "Overrides", "import_days", "load_overrides", "year_overrides"]
