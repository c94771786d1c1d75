"""Versioned schema migrations, applied in order at start-up under an advisory lock."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from activities.sql import session_lock

# The same files in both places: deploy/migrations in a checkout (and an editable install),
# activities/schema in an installed wheel (pyproject.toml ships deploy/migrations there).
# DUBAN_MIGRATIONS_DIR, when set, overrides both.
_CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "deploy" / "migrations"
_PACKAGED_DIR = Path(__file__).resolve().parent / "schema"
DEFAULT_DIR = _PACKAGED_DIR if _PACKAGED_DIR.is_dir() else _CHECKOUT_DIR
_LOCK_KEY = 0x647562616E  # "duban": one migrator at a time, whatever the number of workers


def migrations_dir() -> Path:
    return Path(os.environ.get("DUBAN_MIGRATIONS_DIR", DEFAULT_DIR))


async def migrate(
    conn: asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record],
    directory: Path | None = None,
) -> list[str]:
    """Apply every migration not yet applied; return the names applied now."""
    folder = directory or migrations_dir()
    files = sorted(folder.glob("*.sql"))
    if not files:
        raise FileNotFoundError(f"no migrations in {folder}")
    applied_now: list[str] = []
    async with session_lock(conn, _LOCK_KEY):
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for path in files:
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(path.read_text(encoding="utf-8"))
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", path.stem)
            applied_now.append(path.stem)
    return applied_now
