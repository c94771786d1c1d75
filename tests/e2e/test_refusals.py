"""Whatever says no, Temporal, PostgreSQL or a file that does not validate, the person at the
command line reads one line on stderr and gets a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import pytest

from bench.stack import free_port
from starter.embedded_pg import CREDENTIALS, Credentials
from tests.e2e.stack import DUBAN, Stack

pytestmark = pytest.mark.e2e


def duban(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "DUBAN_DATABASE_URL")
    }
    return subprocess.run(
        [DUBAN, *args, "--data-dir", str(data_dir)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("duban: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_temporal_at_a_closed_port(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # bound a moment ago, closed now: nobody listens
    for args in (("task", "show", "T-1"), ("task", "list"), ("ops", "setup")):
        line = refused(duban(tmp_path, {"TEMPORAL_ADDRESS": address}, *args))
        assert f"cannot reach Temporal at {address}" in line, line


def test_a_namespace_temporal_does_not_have(stack: Stack, tmp_path: Path) -> None:
    env = {"TEMPORAL_ADDRESS": stack.address, "TEMPORAL_NAMESPACE": "no-such-namespace"}
    line = refused(duban(tmp_path, env, "task", "list"))
    assert line.startswith("duban: not found: ") and "no-such-namespace" in line, line


def test_postgresql_at_a_closed_port(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    for args in (("calendar", "show", "2026"), ("task", "history", "T-1"), ("directory", "show")):
        line = refused(duban(tmp_path, {"DUBAN_DATABASE_URL": url}, *args))
        assert "cannot reach PostgreSQL" in line, line


async def _reader(stack: Stack) -> str:
    """A role that may log in and nothing more, made by the embedded server's superuser
    (its password in the data directory); its URL."""
    c = Credentials.model_validate_json((stack.data_dir / CREDENTIALS).read_text())
    own = urlsplit(stack.database_url)
    conn = await asyncpg.connect(
        host=parse_qs(own.query)["host"][0],
        user=c.superuser,
        password=c.superuser_password,
        database="postgres",
    )
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = 'duban_reader'")
        if not exists:
            await conn.execute("CREATE ROLE duban_reader LOGIN PASSWORD 'reader'")
    finally:
        await conn.close()
    return urlunsplit(own._replace(netloc="duban_reader:reader@"))


def test_postgresql_refuses_a_role_without_rights(stack: Stack, tmp_path: Path) -> None:
    url = asyncio.run(_reader(stack))
    line = refused(duban(tmp_path, {"DUBAN_DATABASE_URL": url}, "calendar", "show", "2026"))
    assert line.startswith("duban: PostgreSQL: InsufficientPrivilegeError: permission denied")


def test_a_stack_file_that_does_not_validate(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text('{"temporal_address": "127.0.0.1:1"}', encoding="utf-8")
    line = refused(duban(tmp_path, {}, "task", "show", "T-1"))
    assert "database_url: missing" in line and "pid: missing" in line, line
