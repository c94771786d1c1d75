"""`duban up` keeps its files and its database to itself (issue 13 §3): the data directory,
stack.json and the passwords for their owner only; the embedded PostgreSQL asks for a
password and duban connects as its own role; a database URL from the environment is never
copied, password and all, into stack.json."""

from __future__ import annotations

import asyncio
import json
import stat
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from starter.embedded_pg import CREDENTIALS
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _connect(url: str, user: str | None = None) -> None:
    """Connect over the URL's socket: as its role with its password, or as `user` without."""
    parts = urlsplit(url)
    conn = await asyncpg.connect(
        host=parse_qs(parts.query)["host"][0],
        user=user or parts.username,
        password=None if user else parts.password,
        database="postgres",
    )
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


def test_duban_up_keeps_its_files_and_database_to_itself(stack: Stack) -> None:
    data = stack.data_dir
    assert mode(data) & 0o077 in (0, 0o010), oct(mode(data))  # at most a way through
    assert mode(data / "stack.json") == 0o600
    assert mode(data / CREDENTIALS) == 0o600
    url = stack.database_url
    assert urlsplit(url).username == "duban"  # its own role, not the superuser
    asyncio.run(_connect(url))
    for user in ("duban", "postgres"):  # no password: refused
        with pytest.raises(
            (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)
        ):
            asyncio.run(_connect(url, user=user))


def test_a_database_url_from_the_environment_stays_out_of_stack_json(
    stack: Stack, tmp_path: Path
) -> None:
    """A second `duban up` on the first one's Temporal and database, as production runs it:
    its stack.json says where the database is, never with its password."""
    password = urlsplit(stack.database_url).password
    assert password
    second = Stack(tmp_path / "data", {})
    second.env.update(
        TEMPORAL_ADDRESS=stack.address,
        DUBAN_DATABASE_URL=stack.database_url,
        DUBAN_TASK_QUEUE=f"tq-{uuid.uuid4()}",
    )
    second.start()
    try:
        written = (second.data_dir / "stack.json").read_text(encoding="utf-8")
        assert mode(second.data_dir / "stack.json") == 0o600
        assert mode(second.data_dir) == 0o700
        assert password not in written
        saved = json.loads(written)["database_url"]
        assert urlsplit(saved).username == "duban" and urlsplit(saved).password is None
        assert saved.split("?")[1] == stack.database_url.split("?")[1]  # where, still said
        assert not (second.data_dir / CREDENTIALS).exists()  # no embedded server of its own
    finally:
        assert second.stop() == 0
