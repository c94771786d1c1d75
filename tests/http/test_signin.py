"""Signing in to the pages through the real service (issue 15 §1): with a personal token,
with a one-time sign-in link from `duban login-link` (sent by SMS to a gateway peer on
loopback), and with the office's OIDC provider (a provider on loopback doing the
authorization-code flow with PKCE); the session cookie's attributes; sign-out ending the
session at once; forms refused without their CSRF token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from starter.http.session import COOKIE
from tests.conftest import venv_binary
from tests.http.pages_kit import Site, browser_like, csrf_of, sign_in, site
from tests.peers import WebhookReceiver
from tests.tamper import changed

__all__ = ["site"]


def cookie_header(answer: httpx.Response) -> str:
    found = [v for k, v in answer.headers.multi_items() if k == "set-cookie" and COOKIE in v]
    assert found, answer.headers
    return found[-1]


async def sessions_of(pool: asyncpg.Pool, person: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT id, name, revoked_at FROM api_tokens WHERE person_id = $1 AND id LIKE 's%' "
        "ORDER BY created_at",
        person,
    )


async def test_a_token_signs_in_and_sign_out_ends_the_session(site: Site) -> None:
    api = await site()
    token = await api.token("chen.yi")
    async with browser_like(api) as http:
        home = await http.get("/")
        assert (home.status_code, home.headers["location"]) == (303, "/login")
        desk = await http.get("/desk")
        assert (desk.status_code, desk.headers["location"]) == (303, "/login?next=%2Fdesk")
        before = await sessions_of(api.pool, "chen.yi")

        wrong = await sign_in(http, changed(token))
        assert wrong.status_code == 401 and "令牌无效" in wrong.text
        assert await sessions_of(api.pool, "chen.yi") == before

        signed = await sign_in(http, token)
        assert (signed.status_code, signed.headers["location"]) == (303, "/desk")
        cookie = cookie_header(signed).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain http, and the public address is http
        [row] = [r for r in await sessions_of(api.pool, "chen.yi") if r not in before]
        assert row["name"] == "page session (token)" and row["revoked_at"] is None
        page = await http.get("/desk")
        assert page.status_code == 200 and "我的任务" in page.text and "陈一" in page.text
        kept = dict(http.cookies)

        # Sign-out without the form's token is refused and signs nobody out.
        forged = await http.post("/logout", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert (await http.get("/desk")).status_code == 200
        out = await http.post("/logout", data={"csrf": csrf_of(page.text)})
        assert (out.status_code, out.headers["location"]) == (303, "/login")
        assert (await http.get("/desk")).status_code == 303
    # The old cookie, kept by someone else, no longer opens anything: the row is revoked.
    async with httpx.AsyncClient(base_url=api.url, cookies=kept) as again:
        assert (await again.get("/desk")).status_code == 303
    [row] = [r for r in await sessions_of(api.pool, "chen.yi") if r not in before]
    assert row["revoked_at"] is not None


async def test_sign_in_refuses_a_form_without_its_token_and_a_foreign_next(site: Site) -> None:
    api = await site()
    token = await api.token("lin.er")
    async with browser_like(api) as http:
        await http.get("/login")
        no_csrf = await http.post("/login", data={"token": token})
        assert no_csrf.status_code == 403
        assert await sessions_of(api.pool, "lin.er") == []
        page = await http.get("/login")
        away = await http.post(
            "/login",
            data={"csrf": csrf_of(page.text), "token": token, "next": "//evil.example/x"},
        )
        assert (away.status_code, away.headers["location"]) == (303, "/desk")


def duban(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    import subprocess

    done = subprocess.run(
        [venv_binary("duban") or "duban", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


async def test_a_sign_in_link_works_once(site: Site, pg_url: str) -> None:
    api = await site()
    env = {"DUBAN_DATABASE_URL": pg_url, "DUBAN_HTTP_PUBLIC_URL": api.url}
    with WebhookReceiver() as sms, WebhookReceiver() as wecom:
        sms.reply = wecom.reply = b'{"code": 0, "errcode": 0}'
        # A group robot would show the link to the whole group: refused, nothing made.
        only_robot = {**env, "DUBAN_WECOM_URL": wecom.url}
        code, out, err = await asyncio.to_thread(
            duban, "login-link", "zhang.san", "--send", env=only_robot
        )
        assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
        assert "cannot be reached alone" in err and wecom.received == []
        links = await api.pool.fetchval(
            "SELECT count(*) FROM api_tokens WHERE name = 'sign-in link' AND person_id = $1",
            "zhang.san",
        )
        assert links == 0

        both = {**env, "DUBAN_WECOM_URL": wecom.url, "DUBAN_SMS_URL": sms.url}
        both["DUBAN_SMS_KEY"] = "gateway-key"
        code, out, err = await asyncio.to_thread(
            duban, "login-link", "zhang.san", "--send", env=both
        )
        assert code == 0, err
        url = out.strip()
        assert url.startswith(f"{api.url}/login/link/dbl_")
        [sent] = sms.received
        assert sent["to"] == "13800000001" and url in sent["params"]["text"]
        assert wecom.received == []
    token = url.rsplit("/", 1)[1]
    # dbl_<id>_<secret>: the secret is base64url and may itself hold "_", even first.
    _, link_id, secret = token.split("_", 2)
    stored = await api.pool.fetchrow("SELECT secret_hash FROM api_tokens WHERE id = $1", link_id)
    assert stored is not None and secret.encode() not in bytes(stored["secret_hash"])
    # The secret is no personal token: presented as one, the API refuses it.
    as_bearer = "dbn_" + token.removeprefix("dbl_")
    refused = await api.call("GET", "/api/tasks", headers={"Authorization": f"Bearer {as_bearer}"})
    assert refused.status_code == 401

    path = urllib.parse.urlsplit(url).path
    async with browser_like(api) as http:
        # Opening it (a link preview does) uses nothing up.
        for _ in range(2):
            opened = await http.get(path)
            assert opened.status_code == 200 and "张三" in opened.text
        used = await http.post(path, data={"csrf": csrf_of(opened.text)})
        assert (used.status_code, used.headers["location"]) == (303, "/desk")
        assert "张三" in (await http.get("/desk")).text
    async with browser_like(api) as other:
        again = await other.get(path)
        assert again.status_code == 410 and "已使用" in again.text
        assert (await other.get("/desk")).status_code == 303
        tampered = await other.get(changed(path))
        assert tampered.status_code == 404
    [row] = await sessions_of(api.pool, "zhang.san")
    assert row["name"] == "page session (sign-in link)"


class Provider:
    """An OIDC provider on loopback: discovery, JWKS, an authorization endpoint that signs
    in `person` at once (as a provider would after its own login page) and a token
    endpoint that checks the code, the client's secret and the PKCE verifier."""

    def __init__(self, client_id: str, secret: str) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:8]
        self.person = "he.shan"
        self.codes: dict[str, dict[str, str]] = {}
        self.exchanges: list[dict[str, str]] = []
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                asked = dict(urllib.parse.parse_qsl(parts.query))
                if parts.path == "/.well-known/openid-configuration":
                    base = provider.issuer
                    self._json(
                        200,
                        {
                            "issuer": base,
                            "jwks_uri": f"{base}/jwks",
                            "authorization_endpoint": f"{base}/authorize",
                            "token_endpoint": f"{base}/token",
                        },
                    )
                elif parts.path == "/jwks":
                    self._json(200, jwks)
                elif parts.path == "/authorize":
                    code = uuid.uuid4().hex
                    provider.codes[code] = asked
                    back = f"{asked['redirect_uri']}?" + urllib.parse.urlencode(
                        {"code": code, "state": asked["state"]}
                    )
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                else:
                    self._json(404, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                provider.exchanges.append(form)
                expected = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
                asked = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if (
                    asked is None
                    or self.headers.get("Authorization") != expected
                    or asked["code_challenge"] != challenge
                    or asked["code_challenge_method"] != "S256"
                    or form.get("redirect_uri") != asked["redirect_uri"]
                ):
                    self._json(400, {"error": "invalid_grant"})
                    return
                self._json(
                    200, {"id_token": provider.id_token(asked["nonce"]), "token_type": "Bearer"}
                )

            def log_message(self, *args: Any) -> None:
                pass

        self.client_id = client_id
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": uuid.uuid4().hex,
            "preferred_username": self.person,
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture
def provider() -> Iterator[Provider]:
    found = Provider("duban-pages", "s3cret")
    yield found
    found.server.shutdown()
    found.server.server_close()


async def _through_provider(http: httpx.AsyncClient, start: str) -> httpx.Response:
    """Follow the flow as a browser would: to the provider and back to duban."""
    out = await http.get(start)
    assert out.status_code == 303, out.text
    authorize = out.headers["location"]
    asked = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    assert asked["code_challenge_method"] == "S256" and asked["client_id"] == "duban-pages"
    async with httpx.AsyncClient() as idp:
        back = await idp.get(authorize)
    assert back.status_code == 302
    return await http.get(back.headers["location"])


async def test_single_sign_on_with_the_office_s_provider(site: Site, provider: Provider) -> None:
    api = await site(
        oidc_issuer=provider.issuer, oidc_client_id="duban-pages", oidc_client_secret="s3cret"
    )
    async with browser_like(api) as http:
        login = await http.get("/login")
        assert "统一身份认证登录" in login.text
        done = await _through_provider(http, "/login/oidc?next=/desk")
        assert (done.status_code, done.headers["location"]) == (303, "/desk")
        assert "何山" in (await http.get("/desk")).text
        # The state and the PKCE verifier travelled as the flow needs: the code was
        # exchanged with the verifier whose challenge went to the provider.
        assert provider.exchanges[-1]["grant_type"] == "authorization_code"
    [row] = await sessions_of(api.pool, "he.shan")
    assert row["name"] == "page session (oidc)"

    # A callback not of this browser's sign-in (another state) signs nobody in.
    async with browser_like(api) as other:
        await other.get("/login/oidc")
        forged = await other.get("/login/oidc/callback?code=abc&state=not-mine")
        assert forged.status_code == 403
        assert (await other.get("/desk")).status_code == 303
    # A person the directory does not have is refused.
    provider.person = "nobody"
    async with browser_like(api) as stranger:
        refused = await _through_provider(stranger, "/login/oidc")
        assert refused.status_code == 403 and "不在人员名录中" in refused.text
    assert len(await sessions_of(api.pool, "nobody")) == 0
