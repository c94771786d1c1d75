"""Who is calling: resolved once per request from the credential (fastapi full-stack
template, `api/deps.py`). A personal token (activities.identity) or, where the office has
single sign-on, a JWT from its issuer; either way a person of today's directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from temporalio.client import Client

from activities import directory as store
from activities import identity
from activities.directory import Directory
from starter.http.errors import ApiError, unauthorized
from starter.http.oidc import OidcRefused, OidcUnavailable, OidcVerifier
from workflows.names import Via
from workflows.windows import OFFICE_TZ


@dataclass
class Door:
    """What the app holds for its life: one Temporal client, one pool, the settings, and
    the directory as of its version in PostgreSQL (read again when that moves)."""

    client: Client
    pool: asyncpg.Pool
    task_queue: str
    oidc: OidcVerifier | None
    directory: store.Held = field(default_factory=store.Held)

    async def directory_now(self) -> Directory:
        """Today's directory: its version asked of PostgreSQL, the tables read if it moved."""
        return await self.directory.now(self.pool)


@dataclass(frozen=True)
class Caller:
    person: str
    via: Via
    directory: Directory
    today: date


def door(request: Request) -> Door:
    found: Door = request.app.state.door
    return found


async def caller(request: Request) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise unauthorized("no credential: send Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("the credential must be sent as Authorization: Bearer <token>")
    d = door(request)
    now = datetime.now(UTC)
    if identity.looks_like(token):
        try:
            proof = await identity.prove(d.pool, token, now)
        except identity.TokenRefused as err:
            raise unauthorized(str(err)) from err
        person, via = proof.token.person_id, Via.API
        # The directory's version came with the token's row: one statement for both.
        directory = await d.directory.at(d.pool, proof.directory_version)
    elif d.oidc is not None and token.count(".") == 2:
        try:
            person = await d.oidc.person(token)
        except OidcRefused as err:
            raise unauthorized(str(err)) from err
        except OidcUnavailable as err:
            raise ApiError(503, f"single sign-on is unavailable: {err}") from err
        via = Via.OIDC
        directory = await d.directory_now()
    else:
        raise unauthorized("unknown token")
    if person not in directory.people:
        raise unauthorized(f"{person} is not in the directory")
    return Caller(person, via, directory, now.astimezone(OFFICE_TZ).date())


CallerDep = Annotated[Caller, Depends(caller)]
DoorDep = Annotated[Door, Depends(door)]
