"""How duban talks to PostgreSQL: a span around each SQL statement, so a task's trace
reaches down to the database; pools that keep a connection's session between uses; and
session advisory locks that such a pool can never hand out still held."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import asyncpg
from opentelemetry import trace

_tracer = trace.get_tracer("duban.sql")


@contextmanager
def sql_span(statement: str) -> Iterator[None]:
    words = statement.split()
    table = next((w for w in words[1:4] if w.isidentifier() and w.upper() not in _KEYWORDS), "")
    with _tracer.start_as_current_span(
        f"{words[0].upper()} {table}".strip(),
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": " ".join(words)},
    ):
        yield


_KEYWORDS = {"INTO", "FROM", "TABLE", "SET"}


async def keep_session(conn: Any) -> None:
    """An asyncpg pool's `reset`: a connection back in the pool keeps its session. asyncpg
    still rolls back a transaction left open; duban sets no session setting, keeps no
    cursor, listens on no pooled connection, and holds advisory locks only through
    `session_lock`, which closes a connection it cannot be sure it released. The default
    reset (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) is one more
    round trip for every statement sent through the pool: 126-157 against 66-85 µs a
    statement, and 90-126 against 55-75 µs of the client's CPU (`SELECT 1` through a pool
    of four, 4,000 at once, pgserver on this machine)."""


def _end_session(conn: Any) -> None:
    """Close the connection, ending its session (once the server notices) and every lock
    it holds; one asyncpg has already closed and taken back is left as it is."""
    with suppress(asyncpg.InterfaceError):
        conn.terminate()


@asynccontextmanager
async def session_lock(conn: Any, *key: int, wait: bool = True) -> AsyncIterator[bool]:
    """A session advisory lock on `key` held on `conn` for the block; whether it was taken
    (`wait=False` asks once and yields False when another session holds it). Should asking
    for it or releasing it fail or be cancelled, the lock may be left held, so the
    connection is closed: its session ends when the server notices (a backend still
    waiting for the lock leaves once granted it), and the lock with it, and a pool
    (`keep_session`) never hands out a connection that holds one. The block's own error,
    if it has one, is the one raised."""
    args = ", ".join(f"${i}" for i in range(1, len(key) + 1))
    try:
        if wait:
            await conn.execute(f"SELECT pg_advisory_lock({args})", *key)
            taken = True
        else:
            taken = bool(await conn.fetchval(f"SELECT pg_try_advisory_lock({args})", *key))
    except BaseException:
        _end_session(conn)
        raise
    if not taken:
        yield False
        return
    finished = False
    try:
        yield True
        finished = True
    finally:
        try:
            await conn.execute(f"SELECT pg_advisory_unlock({args})", *key)
        except BaseException as err:
            _end_session(conn)
            if finished or isinstance(err, asyncio.CancelledError):
                raise  # (else the block's own error goes on)
