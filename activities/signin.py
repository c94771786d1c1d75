"""Sign-in links for the pages (`duban login-link PERSON`): one use, short-lived, made for
one person of the directory. They live in the token store (api_tokens, beside personal
tokens and page sessions, so `duban token list` shows them and `duban token revoke` ends
one), with only a hash of their secret kept. The hash is of a sign-in-only derivation of
the secret: a link can never be presented as a personal token (activities.identity hashes
the bare secret), nor a personal token as a link. Using a link revokes it in the same
statement that finds it, so two clicks (or a link preview and a click) sign in once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import asyncpg

PREFIX = "dbl"  # dbl_<id>_<secret>, as personal tokens are dbn_<id>_<secret>
NAME = "sign-in link"
LIFETIME = timedelta(minutes=15)
MAX_LIFETIME = timedelta(days=1)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(b"sign-in:" + secret.encode()).digest()


def _split(token: str) -> tuple[str, str] | None:
    prefix, _, rest = token.partition("_")
    link_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not link_id or not secret or len(token) > 200:
        return None
    return link_id, secret


async def issue(
    pool: asyncpg.Pool, person_id: str, now: datetime, lifetime: timedelta = LIFETIME
) -> tuple[str, datetime]:
    """A new link's token for `person_id` and when it expires."""
    link_id = "l" + secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    expires = now + min(lifetime, MAX_LIFETIME)
    await pool.execute(
        "INSERT INTO api_tokens (id, person_id, name, secret_hash, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        link_id,
        person_id,
        NAME,
        _digest(secret),
        now,
        expires,
    )
    return f"{PREFIX}_{link_id}_{secret}", expires


async def _row(pool: asyncpg.Pool, token: str) -> asyncpg.Record | None:
    parts = _split(token)
    if parts is None:
        return None
    link_id, secret = parts
    row = await pool.fetchrow("SELECT * FROM api_tokens WHERE id = $1 AND name = $2", link_id, NAME)
    if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), _digest(secret)):
        return None
    return row


async def state(pool: asyncpg.Pool, token: str, now: datetime) -> tuple[str, str | None]:
    """("valid" | "used" | "expired" | "unknown", the person it is for) without using it."""
    row = await _row(pool, token)
    if row is None:
        return "unknown", None
    if row["revoked_at"] is not None:
        return "used", row["person_id"]
    if row["expires_at"] <= now:
        return "expired", row["person_id"]
    return "valid", row["person_id"]


async def use(pool: asyncpg.Pool, token: str, now: datetime) -> str | None:
    """The person the link signs in, once: None when it is unknown, used or expired."""
    row = await _row(pool, token)
    if row is None:
        return None
    person: str | None = await pool.fetchval(
        "UPDATE api_tokens SET revoked_at = $2, last_used_at = $2 "
        "WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING person_id",
        row["id"],
        now,
    )
    return person
