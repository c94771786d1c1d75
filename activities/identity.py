"""Personal tokens: a person of the directory (or an office's system acting as one) proves
who they are to the HTTP API with `Authorization: Bearer dbn_<id>_<secret>`.

The secret is 32 random bytes shown once, when issued; the ledger keeps only its SHA-256
(a random secret needs no slow hash: there is nothing to guess) and the short `id` that
finds the row. A token past its expiry, revoked, or of a person no longer in the
directory proves nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

PREFIX = "dbn"
MAX_DAYS = 3650


@dataclass(frozen=True)
class TokenInfo:
    id: str
    person_id: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "valid"


class TokenRefused(Exception):
    """The credential proves nothing; the message says why, in one line."""


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _split(token: str) -> tuple[str, str] | None:
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not token_id or not secret:
        return None
    return token_id, secret


def looks_like(token: str) -> bool:
    return _split(token) is not None


async def issue(
    pool: asyncpg.Pool, person_id: str, days: int, name: str, now: datetime
) -> tuple[str, TokenInfo]:
    """A new token for `person_id`, valid `days` days: the token (shown once) and its row."""
    token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    row = await pool.fetchrow(
        "INSERT INTO api_tokens (id, person_id, name, secret_hash, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        token_id,
        person_id,
        name,
        _digest(secret),
        now,
        now + timedelta(days=days),
    )
    assert row is not None
    return f"{PREFIX}_{token_id}_{secret}", _info(row)


# When a token was last used is kept to the minute: one write a minute, not one a request.
LAST_USED_GRAIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Proof:
    """A good token's row, and the directory's version read in the same statement."""

    token: TokenInfo
    directory_version: int


async def prove(pool: asyncpg.Pool, token: str, now: datetime) -> Proof:
    """The token's row when it is good now, with the directory's version: one statement
    (and a second, once a minute, to say when it was last used). Nothing is kept between
    calls: a token revoked or expired a moment ago is refused now. Else TokenRefused."""
    parts = _split(token)
    if parts is None:
        raise TokenRefused("not a duban token")
    token_id, secret = parts
    row = await pool.fetchrow(
        "SELECT t.*, (SELECT version FROM directory_version) AS directory_version "
        "FROM api_tokens t WHERE id = $1",
        token_id,
    )
    if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), _digest(secret)):
        raise TokenRefused("unknown token")
    info = _info(row)
    state = info.state(now)
    if state != "valid":
        raise TokenRefused(f"token {token_id} is {state}")
    if info.last_used_at is None or info.last_used_at < now - LAST_USED_GRAIN:
        await pool.execute(
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 "
            "AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - $3::interval)",
            token_id,
            now,
            LAST_USED_GRAIN,
        )
    return Proof(info, row["directory_version"])


async def verify(pool: asyncpg.Pool, token: str, now: datetime) -> TokenInfo:
    """The token's row when it is good now; else TokenRefused with the reason."""
    return (await prove(pool, token, now)).token


async def listed(pool: asyncpg.Pool, person_id: str | None = None) -> list[TokenInfo]:
    rows = await pool.fetch(
        "SELECT * FROM api_tokens WHERE $1::text IS NULL OR person_id = $1 "
        "ORDER BY person_id, created_at",
        person_id,
    )
    return [_info(r) for r in rows]


async def revoke(pool: asyncpg.Pool, token_id: str, now: datetime) -> TokenInfo | None:
    """Revoke the token; None when there is no such token. Revoking twice keeps the first."""
    row = await pool.fetchrow(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING *",
        token_id,
        now,
    )
    return _info(row) if row is not None else None


def _info(row: asyncpg.Record) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        person_id=row["person_id"],
        name=row["name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )
