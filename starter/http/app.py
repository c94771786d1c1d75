"""The FastAPI application: one Temporal client and one asyncpg pool for its life (the
lifespan), the caller resolved per request (starter.http.auth), thin routes, every error
one line. Stateless: any number of them may run behind a load balancer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from activities.migrations import migrate
from activities.sql import keep_session
from starter.http import board, desk, errors, links, office, pages, signin, tasks
from starter.http.auth import Door, DoorDep
from starter.http.codec import install as install_codec
from starter.http.oidc import OidcVerifier
from starter.http.settings import HttpSettings

PROBE_TIMEOUT = 3.0  # seconds a readiness probe waits for Temporal or PostgreSQL


def create_app(
    settings: HttpSettings,
    connect: Callable[[], Awaitable[Client]],
    database_url: str,
    task_queue: str,
) -> FastAPI:
    oidc = (
        OidcVerifier(settings.oidc_issuer, settings.oidc_audience, settings.oidc_claim)
        if settings.oidc_issuer and settings.oidc_audience
        else None
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = await connect()
        async with asyncpg.create_pool(
            database_url, min_size=1, max_size=10, reset=keep_session
        ) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            app.state.door = Door(client, pool, task_queue, oidc)
            yield

    app = FastAPI(
        title="duban 督办",
        summary="Tasks an office assigns to its units: sign, report, verify, acknowledge.",
        description=(
            "Every caller is a person of the directory: `Authorization: Bearer <token>` "
            "with a personal token (`duban token issue`) or the office's single sign-on. "
            "The acting unit and role come from the directory, never from the request; a "
            "message body naming `unit` is refused (422). Who acts for several units names "
            'one with `?unit=`. Every error is `{"error": "<one line>"}`.'
        ),
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes)
    app.include_router(tasks.router)
    app.include_router(links.router)  # the action links in notices: /a/{token}
    pages.install(app, settings)  # the pages' static files, session and refusals
    install_codec(app, settings)  # the codec server for the Web UI and the CLI: /codec/*
    app.include_router(signin.router)  # /, /login (token, OIDC, sign-in link), /logout
    app.include_router(desk.router)  # /desk (我的任务), /tasks/{id} and its messages
    app.include_router(office.router)  # /office: assign from a form, import the ledger
    app.include_router(board.router)  # /board (看板) and /board/report.xlsx
    app.include_router(board.api)  # /api/board: the board's figures as JSON

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=None)
    async def readyz(door: DoorDep) -> dict[str, str] | JSONResponse:
        """Temporal and PostgreSQL answer; 503 naming which does not."""
        answers = zip(("Temporal", "PostgreSQL"), await _probe(door), strict=True)
        down = [name for name, ok in answers if not ok]
        if down:
            return errors.error(503, f"not ready: {' and '.join(down)} not answering")
        return {"status": "ready", "temporal": "ok", "postgresql": "ok"}

    return app


async def _probe(door: Door) -> tuple[bool, bool]:
    async def temporal() -> bool:
        try:
            await door.client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=PROBE_TIMEOUT)
            )
        except Exception:
            return False
        return True

    async def postgres() -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await door.pool.fetchval("SELECT 1")
        except Exception:
            return False
        return True

    t, p = await asyncio.gather(temporal(), postgres())
    return t, p
