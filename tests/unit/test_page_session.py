"""The pages' session cookie (starter.http.session): its key, its attributes, and that a
cookie signed with another key, tampered with or too old opens nothing."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from starter.http import session as sessions
from starter.http.session import COOKIE, Session, Sessions, load_key
from tests.tamper import changed


def request(scheme: str = "http", cookie: str | None = None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    scope = {"type": "http", "scheme": scheme, "headers": headers, "path": "/"}
    return Request({**scope, "server": ("duban", 443), "query_string": b""})


def test_the_key_is_made_once_owner_only_or_taken_from_the_setting(tmp_path: Path) -> None:
    made = load_key(None, tmp_path / "data")
    path = tmp_path / "data" / "session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(None, tmp_path / "data") == made  # kept across restarts
    assert load_key("k" * 40, tmp_path / "other") == b"k" * 40
    assert not (tmp_path / "other").exists()
    path.write_text("short")
    with pytest.raises(RuntimeError, match="too short"):
        load_key(None, tmp_path / "data")


@pytest.mark.parametrize(
    ("public", "scheme", "secure"),
    [
        ("http://127.0.0.1:8080", "http", False),
        ("https://duban.example.gov.cn", "http", True),  # TLS ends at the proxy
        (None, "https", True),
    ],
)
def test_the_cookie_is_httponly_lax_and_secure_behind_tls(
    public: str | None, scheme: str, secure: bool
) -> None:
    found = Sessions(b"k" * 32, public)
    response = Response()
    found.write(request(scheme), response, Session.fresh())
    said = response.headers["set-cookie"].lower()
    assert "httponly" in said and "samesite=lax" in said and "path=/" in said
    assert ("secure" in said) is secure


def test_a_cookie_read_back_is_the_session_and_a_foreign_one_is_none() -> None:
    found = Sessions(b"k" * 32, None)
    mine = Session(csrf="c" * 32, sid="s1", person="chen.yi", how="token")
    response = Response()
    found.write(request(), response, mine)
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert found.read(request(cookie=value)) == mine
    # Tampered, or signed with another key: a fresh session with nobody in it.
    # The signature's first character, whose every bit counts (tests/tamper.py), or the data.
    body, signature = value.rsplit(".", 1)
    tampered = (f"{body}.{changed(signature, 0)}", changed(value, 0))
    for forged in (*tampered, Sessions(b"x" * 32, None)._signer.dumps(mine.dump())):
        read = found.read(request(cookie=forged))
        assert read.person is None and read.csrf != mine.csrf


def test_a_cookie_older_than_a_working_day_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    found = Sessions(b"k" * 32, None)
    signer = URLSafeTimedSerializer(b"k" * 32, salt=sessions.SALT)
    old = time.time() - sessions.MAX_AGE.total_seconds() - 60
    monkeypatch.setattr(time, "time", lambda: old)
    value = signer.dumps(Session(csrf="c" * 32, sid="s1", person="chen.yi").dump())
    monkeypatch.undo()
    assert found.read(request(cookie=value)).person is None
