"""The pools' sessions (activities.sql), against PostgreSQL: the worker's and the service's
pools send no reset between uses, and an advisory lock whose taking or release is cut
short takes its connection with it, so no pooled connection is handed out holding one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from activities.sql import keep_session, session_lock
from worker.main import open_pool

KEY = (0x7465, 0x7374)  # "te", "st": no lock of the product's


@pytest.fixture
async def kept(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool as the worker's: its connections keep their sessions between uses."""
    async with asyncpg.create_pool(pg_url, min_size=1, max_size=3, reset=keep_session) as pool:
        yield pool


async def held_by(pool: asyncpg.Pool, pid: int) -> int:
    """How many advisory locks the session `pid` holds."""
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND granted",
            pid,
        )
    )


async def until_free(pool: asyncpg.Pool) -> bool:
    """Whether KEY can be taken within 5 s: a closed connection's backend leaves when the
    server notices, which may be only after it was granted a lock it was waiting for."""
    for _ in range(50):
        async with pool.acquire() as conn, session_lock(conn, *KEY, wait=False) as ours:
            if ours:
                return True
        await asyncio.sleep(0.1)
    return False


async def test_the_worker_s_pool_sends_no_reset_between_uses(pg_url: str) -> None:
    sent: list[str] = []
    for reset in (None, keep_session):  # asyncpg's default, then the worker's
        async with asyncpg.create_pool(pg_url, min_size=1, max_size=1, reset=reset) as pool:
            async with pool.acquire() as conn:
                conn.add_query_logger(lambda q: sent.append(q.query))
                await conn.fetchval("SELECT 1")
            await pool.fetchval("SELECT 2")
        if reset is None:
            assert any("pg_advisory_unlock_all" in q for q in sent)  # the default's round trip
            sent.clear()
    assert sent == ["SELECT 1", "SELECT 2"]  # and nothing between them

    async with open_pool(pg_url) as pool, pool.acquire() as conn:
        conn.add_query_logger(lambda q: sent.append(q.query))
    assert sent == ["SELECT 1", "SELECT 2"]  # released: no reset sent


async def test_a_lock_is_held_for_the_block_and_released_after(kept: asyncpg.Pool) -> None:
    async with kept.acquire() as conn:
        pid = conn.get_server_pid()
        async with session_lock(conn, *KEY) as taken:
            assert taken and await held_by(kept, pid) == 1
        assert await held_by(kept, pid) == 0 and not conn.is_closed()

        async with kept.acquire() as other, session_lock(other, *KEY) as taken:
            async with session_lock(conn, *KEY, wait=False) as ours:
                assert taken and ours is False  # held elsewhere: asked once, not taken
            assert await held_by(kept, pid) == 0 and not conn.is_closed()


async def test_a_lock_whose_release_fails_closes_its_connection(kept: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.PostgresError):
        async with kept.acquire() as conn, session_lock(conn, *KEY) as taken:
            assert taken
            raw, pid = conn._con, conn.get_server_pid()  # type: ignore[attr-defined]
            # A transaction left failed: the release is refused, and the session may still
            # hold the lock as far as anyone here can tell.
            await conn.execute("BEGIN; SELECT 1/0")
    assert raw.is_closed()  # (a rollback alone would have kept the session, and the lock)
    for _ in range(50):  # the server ends the session once it notices
        if await held_by(kept, pid) == 0:
            break
        await asyncio.sleep(0.1)
    assert await held_by(kept, pid) == 0
    assert await until_free(kept)


async def test_a_lock_asked_for_and_cancelled_closes_its_connection(kept: asyncpg.Pool) -> None:
    async with kept.acquire() as holder, session_lock(holder, *KEY), kept.acquire() as conn:
        raw = conn._con  # type: ignore[attr-defined]

        async def ask() -> None:
            async with session_lock(conn, *KEY):
                pass

        asking = asyncio.create_task(ask())
        await asyncio.sleep(0.3)  # waiting on the holder, in PostgreSQL
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
        # It may have been granted as it was cancelled: the session goes, and the lock.
        assert raw.is_closed()
    assert await until_free(kept)


async def test_a_lock_whose_session_the_server_ended_raises_the_block_s_own_error(
    kept: asyncpg.Pool,
) -> None:
    with pytest.raises(ValueError, match="the block's"):
        async with kept.acquire() as conn, session_lock(conn, *KEY) as taken:
            assert taken
            # PostgreSQL restarted, or an operator ended the session: asyncpg closes the
            # connection and takes it back itself; the release cannot be sent.
            raw = conn._con  # type: ignore[attr-defined]
            await kept.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            for _ in range(50):
                if raw.is_closed():
                    break
                await asyncio.sleep(0.1)
            assert raw.is_closed()
            raise ValueError("the block's own error")
    assert await until_free(kept)
