"""The embedded PostgreSQL (pgserver) behind passwords. pgserver runs `initdb --auth=trust`:
every local connection would be its superuser. Here, once, while that trust still holds,
the superuser gets a generated password, pg_hba.conf then asks every connection for its
password (SCRAM), and duban gets a role of its own that owns one schema, `duban`, and
nothing else; the ledger's migrations run as that role. The passwords are kept in the
data directory, readable by its owner only (`postgres.json`, 0600)."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from workflows.errors import DubanError

CREDENTIALS = "postgres.json"
DATABASE = "postgres"
# The first line of the pg_hba.conf duban writes: a file without it is still pgserver's.
MARK = "# duban: every connection gives its password (SCRAM-SHA-256)"
HBA = f"""{MARK}
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""


class Credentials(BaseModel):
    """The embedded server's two logins: its superuser's and duban's own role's."""

    superuser: str = "postgres"
    superuser_password: str
    role: str = "duban"  # owns the schema of the same name, nothing else
    password: str


def credentials(directory: Path) -> Credentials:
    """The passwords kept in `directory`, made on the first start (0600, never widened)."""
    path = directory / CREDENTIALS
    if not path.exists():
        made = Credentials(
            superuser_password=secrets.token_urlsafe(24), password=secrets.token_urlsafe(24)
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(made.model_dump_json(indent=2))
        return made
    path.chmod(0o600)
    try:
        return Credentials.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as err:
        why = err.errors()[0]["msg"]
        raise DubanError(f"{path}: not duban's PostgreSQL passwords ({why})") from None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _target(server: Any, user: str) -> str:
    """A psql connection string for `user` on the running server (no password in it)."""
    info = server.get_postmaster_info()
    if info.socket_dir is not None:
        return f"postgresql://{user}@/{DATABASE}?host={quote(str(info.socket_dir), safe='/')}"
    return f"postgresql://{user}@{info.hostname}:{info.port}/{DATABASE}"


def _psql(
    server: Any, user: str, password: str | None, sql: str
) -> subprocess.CompletedProcess[str]:
    """`sql` through pgserver's psql, on stdin (a password never on a command line)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    command = [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"]
    return subprocess.run(
        [*command, "--single-transaction", _target(server, user)],
        input=sql,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _run(server: Any, user: str, password: str | None, sql: str) -> None:
    done = _psql(server, user, password, sql)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no reason given"])[0]
        raise DubanError(f"the embedded PostgreSQL could not be set up: {said}")


def _refuses_without_password(server: Any, user: str, timeout: float = 10.0) -> None:
    """Wait until the server has read the new pg_hba.conf (a reload is asynchronous)."""
    deadline = time.monotonic() + timeout
    while _psql(server, user, None, "SELECT 1").returncode == 0:
        if time.monotonic() > deadline:
            raise DubanError("the embedded PostgreSQL still lets anyone in without a password")
        time.sleep(0.1)


def _setup_sql(c: Credentials) -> str:
    role, schema = c.role, c.role
    return f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(role)}) THEN
    CREATE ROLE "{role}";
  END IF;
END $$;
ALTER ROLE "{role}" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD {_literal(c.password)};
ALTER ROLE "{role}" SET search_path = "{schema}";
CREATE SCHEMA IF NOT EXISTS "{schema}" AUTHORIZATION "{role}";
ALTER SCHEMA "{schema}" OWNER TO "{role}";
-- A ledger made before duban had a role (in public, the superuser's): into the role's schema.
DO $$ DECLARE t record; BEGIN
  IF to_regclass('public.schema_migrations') IS NOT NULL THEN
    FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') LOOP
      EXECUTE format('ALTER TABLE public.%I SET SCHEMA "{schema}"', t.relname);
      EXECUTE format('ALTER TABLE "{schema}".%I OWNER TO "{role}"', t.relname);
    END LOOP;
  END IF;
END $$;
"""


def secure(server: Any, directory: Path) -> str:
    """Make the running pgserver ask for passwords and give duban its role; return the URL
    duban connects with (its role, its password)."""
    c = credentials(directory)
    hba = Path(server.pgdata) / "pg_hba.conf"
    if not hba.read_text(encoding="utf-8").startswith(MARK):
        # Trust still holds: the last time anyone gets in without a password.
        _run(
            server,
            c.superuser,
            None,
            f'ALTER ROLE "{c.superuser}" PASSWORD {_literal(c.superuser_password)};',
        )
        with hba.open("w", encoding="utf-8") as out:  # in place: its owner stays the server's
            out.write(HBA)
        _run(server, c.superuser, c.superuser_password, "SELECT pg_reload_conf();")
        _refuses_without_password(server, c.superuser)
    _run(server, c.superuser, c.superuser_password, _setup_sql(c))
    return url(server, c)


def url(server: Any, c: Credentials) -> str:
    """duban's connection URL: its own role, over the server's socket (or its port)."""
    target = _target(server, c.role)
    return target.replace(f"://{c.role}@", f"://{c.role}:{quote(c.password, safe='')}@", 1)
