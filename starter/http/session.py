"""The pages' session: a cookie signed with itsdangerous (the signer Starlette's own
SessionMiddleware uses), read and written here rather than by that middleware so that

- the API never reads it: `/api` takes a bearer credential only, so no cookie can make a
  cross-site request act there;
- `Secure` is decided per response (the request came over TLS, or DUBAN_HTTP_PUBLIC_URL is
  https), which the middleware fixes once at start-up;
- a signed-in cookie names a row of the token store (api_tokens, activities.identity's
  table) that is checked on every page: sign-out and `duban token revoke` end a session at
  once, and `duban token list` shows who is signed in where.

The cookie holds the session's id, the person, how they signed in, the CSRF token that
every form of theirs carries, and, while a single sign-on is under way, its state, nonce
and PKCE verifier. It is HttpOnly and SameSite=Lax, and lives no longer than MAX_AGE.

The key: DUBAN_SESSION_KEY (the same on every `duban serve` behind one load balancer), else
`session.key` in the data directory, made (0600) on first use."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "duban_session"
MAX_AGE = timedelta(hours=12)  # a working day and its evening; then sign in again
KEY_FILE = "session.key"
SALT = "duban-page-session"
# How each way of signing in names its session in the token store (`duban token list`).
SESSION_NAMES = {
    "token": "page session (token)",
    "oidc": "page session (oidc)",
    "link": "page session (sign-in link)",
}


@dataclass(frozen=True)
class Session:
    """What the cookie carries. `sid` is None until someone signs in."""

    csrf: str
    sid: str | None = None
    person: str | None = None
    how: str | None = None  # token | oidc | link
    oidc: dict[str, str] = field(default_factory=dict)  # state, nonce, verifier, next
    flash: tuple[str, str] | None = None  # (tone, text) shown once on the next page

    @staticmethod
    def fresh() -> Session:
        return Session(csrf=secrets.token_urlsafe(24))

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"c": self.csrf}
        if self.sid:
            data |= {"s": self.sid, "p": self.person, "h": self.how}
        if self.oidc:
            data["o"] = self.oidc
        if self.flash:
            data["f"] = list(self.flash)
        return data

    @staticmethod
    def load(data: Any) -> Session | None:
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        flash = data.get("f")
        oidc = data.get("o")
        return Session(
            csrf=data["c"],
            sid=data.get("s"),
            person=data.get("p"),
            how=data.get("h"),
            oidc=oidc if isinstance(oidc, dict) else {},
            flash=(str(flash[0]), str(flash[1])) if isinstance(flash, list) else None,
        )

    def with_flash(self, tone: str, text: str) -> Session:
        return replace(self, flash=(tone, text))


def load_key(configured: str | None, data_dir: Path) -> bytes:
    """The signing key: DUBAN_SESSION_KEY, else the data directory's, made on first use."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    try:
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it meanwhile: use theirs
                pass
            else:
                with os.fdopen(fd, "w") as file:
                    file.write(secrets.token_hex(32))
        key = path.read_text().strip()
    except OSError as err:
        raise RuntimeError(
            f"cannot keep the pages' session key in {path}: {err.strerror}; set DUBAN_SESSION_KEY"
        ) from err
    if len(key) < 32:
        raise RuntimeError(f"{path}: the session key is too short (at least 32 characters)")
    return key.encode()


class Sessions:
    """Reads and writes the cookie; opens and ends a signed-in session in the token store."""

    def __init__(self, key: bytes, public_url: str | None) -> None:
        self._key = key
        self._signer = URLSafeTimedSerializer(key, salt=SALT)
        self._https = bool(public_url and public_url.startswith("https://"))

    def signer(self, salt: str) -> URLSafeTimedSerializer:
        """A signer with the session's key for another purpose (its own salt): what a page
        hands the browser to bring back unchanged, such as an import's checked rows."""
        return URLSafeTimedSerializer(self._key, salt=f"{SALT}:{salt}")

    def read(self, request: Request) -> Session:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return Session.fresh()
        try:
            data = self._signer.loads(raw, max_age=int(MAX_AGE.total_seconds()))
        except BadSignature:  # forged, from another key, or older than MAX_AGE
            return Session.fresh()
        return Session.load(data) or Session.fresh()

    def write(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self._signer.dumps(session.dump()),
            max_age=int(MAX_AGE.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._https or request.url.scheme == "https",
        )

    @staticmethod
    async def open(pool: asyncpg.Pool, person: str, how: str, now: datetime) -> Session:
        """A new signed-in session (a new CSRF token too: nothing of the session before
        sign-in carries over)."""
        sid = secrets.token_hex(6)
        # The row's secret is never shown and never a bearer credential: its hash is of a
        # session-only derivation, which a personal token's check never matches.
        unused = hashlib.sha256(b"session:" + secrets.token_bytes(32)).digest()
        await pool.execute(
            "INSERT INTO api_tokens (id, person_id, name, secret_hash, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            f"s{sid}",
            person,
            SESSION_NAMES[how],
            unused,
            now,
            now + MAX_AGE,
        )
        return Session(csrf=secrets.token_urlsafe(24), sid=f"s{sid}", person=person, how=how)

    @staticmethod
    async def valid(pool: asyncpg.Pool, session: Session, now: datetime) -> bool:
        """The session's row is there, the person's, not revoked and not expired."""
        if not session.sid or not session.person:
            return False
        found = await pool.fetchrow(
            "SELECT last_used_at FROM api_tokens WHERE id = $1 AND person_id = $2 "
            "AND revoked_at IS NULL AND expires_at > $3",
            session.sid,
            session.person,
            now,
        )
        if found is None:
            return False
        last = found["last_used_at"]
        if last is None or last < now - timedelta(minutes=1):  # last used, to the minute
            await pool.execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", session.sid, now
            )
        return True

    @staticmethod
    async def end(pool: asyncpg.Pool, session: Session, now: datetime) -> None:
        if session.sid:
            await pool.execute(
                "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                session.sid,
                now,
            )
