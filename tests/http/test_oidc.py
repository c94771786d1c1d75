"""Single sign-on against a real identity-provider peer on loopback: it publishes a
discovery document and a JWKS made from a key the test generates, and signs tokens."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from temporalio.client import Client

from activities import directory as store
from bench.stack import free_port
from starter.http.settings import HttpSettings
from tests.http.conftest import Api
from tests.http.test_api import one_line_error
from worker.client import DATA_CONVERTER

AUDIENCE = "duban"


class IdentityProvider:
    """An OIDC issuer on 127.0.0.1: discovery, JWKS, and tokens signed with its key."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:8]
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": f"{provider.issuer}/jwks"}
                elif self.path == "/jwks":
                    provider.fetches += 1
                    body = jwks
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, person: str, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        values = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": uuid.uuid4().hex,
            "preferred_username": person,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        return jwt.encode(values, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture
async def sso(
    serve: Callable[..., Awaitable[Api]], people: store.Directory, idp: IdentityProvider
) -> Api:
    return await serve(HttpSettings(oidc_issuer=idp.issuer, oidc_audience=AUDIENCE))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_from_the_issuer_names_the_person(sso: Api, idp: IdentityProvider) -> None:
    task_id = await sso.start()
    shown = await sso.call("GET", f"/api/tasks/{task_id}", headers=bearer(idp.token("chen.yi")))
    assert shown.status_code == 200 and shown.json()["id"] == task_id
    signed = await sso.call(
        "POST", f"/api/tasks/{task_id}/receive", headers=bearer(idp.token("chen.yi"))
    )
    row = await sso.row(task_id, signed)
    assert (row["actor"], row["role"], row["unit"], row["via"]) == (
        "chen.yi",
        "member",
        "区司法局",
        "oidc",
    )
    assert idp.fetches == 1  # the keys are fetched once and kept
    # Personal tokens work beside single sign-on.
    assert (await sso.call("GET", f"/api/tasks/{task_id}", "lin.er")).status_code == 200


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong audience", "Audience doesn't match"),
        ("expired", "Signature has expired"),
        ("wrong issuer", "Invalid issuer"),
        ("unknown person", "ghost.user is not in the directory"),
        ("another key", "Signature verification failed"),
        ("no claim", "it has no preferred_username claim"),
        ("garbage", "token refused"),
    ],
)
async def test_refused(sso: Api, idp: IdentityProvider, case: str, reason: str) -> None:
    task_id = await sso.start()
    now = int(time.time())
    token = {
        "wrong audience": lambda: idp.token("chen.yi", aud="another-app"),
        "expired": lambda: idp.token("chen.yi", iat=now - 3600, exp=now - 600),
        "wrong issuer": lambda: idp.token("chen.yi", iss="http://127.0.0.1:1/evil"),
        "unknown person": lambda: idp.token("ghost.user"),
        "another key": lambda: idp.token(
            "chen.yi", key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "no claim": lambda: idp.token("chen.yi", preferred_username=None),
        "garbage": lambda: "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
    }[case]()
    before = await sso.ledger(task_id)
    for method, path in (
        ("GET", f"/api/tasks/{task_id}"),
        ("POST", f"/api/tasks/{task_id}/receive"),
    ):
        answer = await sso.call(method, path, headers=bearer(token))
        one_line_error(answer, 401, reason)
    assert await sso.ledger(task_id) == before


async def test_without_the_settings_a_jwt_is_no_credential(api: Api, idp: IdentityProvider) -> None:
    task_id = await api.start()
    answer = await api.call("GET", f"/api/tasks/{task_id}", headers=bearer(idp.token("chen.yi")))
    one_line_error(answer, 401, "unknown token")


async def test_readiness_names_what_is_down(
    serve: Callable[..., Awaitable[Api]], people: store.Directory
) -> None:
    async def nowhere() -> Client:
        return await Client.connect(
            f"127.0.0.1:{free_port()}", lazy=True, data_converter=DATA_CONVERTER
        )

    api = await serve(connect=nowhere)
    one_line_error(await api.call("GET", "/readyz"), 503, "not ready: Temporal not answering")
    assert (await api.call("GET", "/healthz")).json() == {"status": "ok"}
