"""What `duban up` leaves on disk and the embedded PostgreSQL it runs (issue 13 §3): stack.json
and the passwords for their owner only, never an environment's database password in the
file; PostgreSQL asks every connection for its password, and duban's own role owns its
schema and nothing else."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from activities.migrations import migrate
from starter import embedded_pg, stackfile
from starter.stack import embedded_postgres

REFUSED = (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stack_json_is_written_for_its_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: a plain write would be readable by all
    try:
        info = stackfile.StackInfo(
            temporal_address="127.0.0.1:7233",
            database_url="postgresql://duban:pw@/postgres?host=/tmp",
            pid=1,
        )
        stackfile.write(tmp_path, info)
        stackfile.write(tmp_path, info)  # again, over the first
    finally:
        os.umask(old)
    path = tmp_path / stackfile.FILE
    assert mode(path) == 0o600
    assert stackfile.read(tmp_path) == info
    assert [p.name for p in tmp_path.iterdir()] == [stackfile.FILE]  # nothing left aside


def test_a_database_url_from_the_environment_loses_its_password() -> None:
    url = "postgresql://duban:s3cret@db.internal:5432/duban?sslmode=require"
    without = stackfile.without_password(url)
    assert without == "postgresql://duban@db.internal:5432/duban?sslmode=require"
    assert stackfile.without_password("postgresql://db/duban") == "postgresql://db/duban"


def _socket(url: str) -> str:
    return parse_qs(urlsplit(url).query)["host"][0]


def assert_private(directory: Path) -> None:
    """Nothing for others; for the group at most a way through (pgserver's user, as root)."""
    assert mode(directory) & 0o007 == 0, oct(mode(directory))
    assert mode(directory) in (0o700, 0o710), oct(mode(directory))
    if mode(directory) == 0o710:
        assert os.geteuid() == 0 and directory.stat().st_gid == os.getgid()
    assert mode(directory / embedded_pg.CREDENTIALS) == 0o600


async def test_the_embedded_postgresql_asks_for_passwords_and_duban_owns_only_its_schema(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    with embedded_postgres(data) as url:
        assert_private(data)
        c = embedded_pg.Credentials.model_validate_json(
            (data / embedded_pg.CREDENTIALS).read_text(encoding="utf-8")
        )
        host = _socket(url)
        for user in (c.role, c.superuser):  # no password, a wrong one: refused
            with pytest.raises(REFUSED):
                await asyncpg.connect(host=host, user=user, database="postgres")
            with pytest.raises(REFUSED):
                await asyncpg.connect(host=host, user=user, password="guess", database="postgres")
        root = await asyncpg.connect(
            host=host, user=c.superuser, password=c.superuser_password, database="postgres"
        )
        await root.close()

        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT current_user") == c.role == "duban"
            assert await migrate(conn)  # the migrations run as duban's role
            assert await conn.fetchval("SELECT current_schema()") == "duban"
            assert not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = 'duban'")
            owned = await conn.fetch(
                "SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE c.relowner = 'duban'::regrole "
                "AND n.nspname <> 'pg_toast'"
            )
            assert [r["nspname"] for r in owned] == ["duban"]
            for refused in (
                "CREATE ROLE intruder LOGIN",
                "CREATE TABLE public.intruder (x int)",
                "CREATE SCHEMA intruder",
                "CREATE DATABASE intruder",
                "ALTER ROLE duban SUPERUSER",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(refused)
        finally:
            await conn.close()
    # A second start: the same passwords, still asked for.
    with embedded_postgres(data) as again:
        assert again == url
        with pytest.raises(REFUSED):
            await asyncpg.connect(host=_socket(again), user="duban", database="postgres")
        conn = await asyncpg.connect(again)
        assert await migrate(conn) == []
        await conn.close()
        assert_private(data)


async def test_a_stack_made_before_the_passwords_is_closed_and_keeps_its_ledger(
    tmp_path: Path,
) -> None:
    import pgserver

    data = tmp_path / "data"
    data.mkdir()
    server = pgserver.get_server(data / "pg", cleanup_mode="stop")  # as duban up did: trust
    try:
        conn = await asyncpg.connect(server.get_uri())
        await migrate(conn)
        await conn.execute("INSERT INTO units (name) VALUES ('区司法局')")
        await conn.close()
    finally:
        server.cleanup()

    with embedded_postgres(data) as url:
        with pytest.raises(REFUSED):
            await asyncpg.connect(host=_socket(url), user="postgres", database="postgres")
        conn = await asyncpg.connect(url)
        try:
            assert await migrate(conn) == []  # nothing applied twice
            assert await conn.fetchval("SELECT name FROM units") == "区司法局"
            tables = await conn.fetch(
                "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'units'"
            )
            assert [tuple(r) for r in tables] == [("duban", "duban")]
            assert not await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            )
        finally:
            await conn.close()
    passwords = json.loads((data / embedded_pg.CREDENTIALS).read_text(encoding="utf-8"))
    assert set(passwords) == {"superuser", "superuser_password", "role", "password"}
