"""Every error the HTTP API gives is `{"error": "<one line>"}` with its status: translated
here, at one boundary, as the CLI translates to one line on stderr."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = " ".join(reason.split())  # one line, whatever it quotes
        self.headers = headers


def unauthorized(reason: str) -> ApiError:
    return ApiError(401, reason, {"WWW-Authenticate": 'Bearer realm="duban"'})


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(reason.split())}, status_code=status, headers=headers)


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, err: ApiError) -> JSONResponse:
        return error(err.status, err.reason, err.headers)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, err: HTTPException) -> JSONResponse:
        return error(err.status_code, str(err.detail), getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        parts = []
        for item in err.errors():
            message = "missing" if item["type"] == "missing" else item["msg"]
            parts.append(f"{_where(tuple(item['loc']))}: {message.removeprefix('Value error, ')}")
        return error(422, "; ".join(parts) or "malformed request")

    @app.exception_handler(Exception)
    async def _defect(request: Request, err: Exception) -> JSONResponse:
        log.exception("request failed", path=request.url.path)
        return error(500, "internal error; the service's log has the details")


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, before it is read whole: by its
    Content-Length, or while it streams in when it has none."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reason = f"the request body is over {self.limit // 1024} KiB"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await error(413, reason)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, reason)
            return message

        await self.app(scope, limited, send)
