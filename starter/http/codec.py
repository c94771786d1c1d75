"""The codec server (issue 16 §2): `POST /codec/decode` and `/codec/encode` in Temporal's
remote codec protocol (samples-go `codec-server/protocol.md`; samples-python
`encryption/codec_server.py`): a `Payloads` message as protobuf JSON in, the same out, with
the very codec this service's own client seals with (worker.codec).

Only people with the ops role (运维, `ops:` in the directory) may use it: proved by
`Authorization: Bearer <token>` (a personal token or OIDC, starter.http.auth; the
`temporal` CLI's `--codec-auth`, the Web UI's "pass access token") or by the pages' own
signed-in session (starter.http.session; the Web UI's "include cross-origin credentials").
Anyone else is 401 or 403, and nothing is decoded. Cross-origin requests are answered for
the Web UI's origin only (DUBAN_UI_URL, and the same address on the other loopback name),
with credentials; every other path of the service stays without CORS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from google.protobuf import json_format
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from activities.directory import Directory
from starter.http import errors
from starter.http.auth import caller, door
from starter.http.errors import ApiError, unauthorized
from starter.http.pages import sessions
from starter.http.session import Sessions
from starter.http.settings import HttpSettings
from worker.client import codec_of
from workflows.errors import DubanError
from workflows.windows import OFFICE_TZ

PREFIX = "/codec"
ROLE = "ops"
ALLOWED_HEADERS = "authorization, authorization-extras, content-type, x-namespace"

router = APIRouter(prefix=PREFIX, tags=["codec server"])


async def ops_reader(request: Request) -> str:
    """The person asking, who must hold the ops role in today's directory."""
    if request.headers.get("authorization"):
        who = await caller(request)
        person, directory, today = who.person, who.directory, who.today
    else:
        now = datetime.now(UTC)
        session = sessions(request).read(request)
        pool = door(request).pool
        if not await Sessions.valid(pool, session, now) or session.person is None:
            raise unauthorized(
                "no credential: send Authorization: Bearer <token>, or sign in at /login"
            )
        person, today = session.person, now.astimezone(OFFICE_TZ).date()
        directory = await door(request).directory_now()
        if person not in directory.people:
            raise unauthorized(f"{person} is not in the directory")
    if not _ops(directory, person, today):
        raise ApiError(
            403,
            f"{person} may not read or seal task payloads: only people with the ops role "
            "(运维) in the directory may",
        )
    return person


def _ops(directory: Directory, person: str, today: date) -> bool:
    return any(seat.role == ROLE for seat in directory.seats(person, today))


OpsDep = Annotated[str, Depends(ops_reader)]


Step = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


async def _apply(request: Request, step: Step) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "send the payloads as application/json")
    try:
        given = json_format.Parse(await request.body(), Payloads())
    except json_format.ParseError as err:
        raise ApiError(400, f"not a Payloads message in protobuf JSON: {err}") from err
    try:
        done = await step(given.payloads)
    except DubanError as err:
        raise ApiError(422, str(err)) from err
    body = json_format.MessageToJson(Payloads(payloads=done), indent=None)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.post("/decode", response_class=Response)
async def decode(request: Request, _: OpsDep) -> Response:
    """Open sealed payloads (those written before sealing come back as they are). The
    body and the answer: `{"payloads": [{"metadata": {...base64}, "data": "base64"}]}`."""
    return await _apply(request, codec_of(door(request).client.data_converter).decode)


@router.post("/encode", response_class=Response)
async def encode(request: Request, _: OpsDep) -> Response:
    """Seal payloads with the current key (the Web UI sealing a signal's input)."""
    return await _apply(request, codec_of(door(request).client.data_converter).encode)


def origins(ui_url: str | None) -> frozenset[str]:
    """The Web UI's origin; on loopback, both its names (localhost and 127.0.0.1)."""
    if not ui_url:
        return frozenset()
    parts = urlsplit(ui_url)
    found = {f"{parts.scheme}://{parts.netloc}"}
    host, port = parts.hostname or "", f":{parts.port}" if parts.port else ""
    if host in ("localhost", "127.0.0.1"):
        for name in ("localhost", "127.0.0.1"):
            found.add(f"{parts.scheme}://{name}{port}")
    return frozenset(found)


class CodecCors:
    """CORS for the codec's paths alone: the preflight answered here, and the Web UI's
    origin (with credentials) on every answer, refusals included, so the UI can read them."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        allowed = origin in self.allowed
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            if not allowed:
                reason = f"origin {origin or '(none)'} may not call the codec server"
                await errors.error(403, reason)(scope, receive, send)
                return
            preflight = Response(status_code=204, headers=self._headers(origin))
            preflight.headers["Access-Control-Allow-Methods"] = "POST"
            preflight.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            preflight.headers["Access-Control-Max-Age"] = "600"
            await preflight(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                cors = self._headers(origin).items()
                extra = [(k.lower().encode(), v.encode()) for k, v in cors]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_cors)

    @staticmethod
    def _headers(origin: str) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }


def install(app: FastAPI, settings: HttpSettings) -> None:
    """The codec server's routes and their CORS (one line in starter.http.app)."""
    app.include_router(router)
    app.add_middleware(CodecCors, allowed=origins(settings.ui_url))
