"""Signing in to the pages (issue 15 §1): with a personal token, with the office's OIDC
provider (authorization code with PKCE), or with a one-time sign-in link
(`duban login-link`); and signing out. Each opens a session (starter.http.session) for a
person of today's directory; every form here carries the session's CSRF token, the
sign-in forms too (a session without a person holds it until someone signs in).

A sign-in link is opened with GET and used only by the button on its page (POST): a
messenger's link preview fetching the address does not use it up."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from activities import identity, signin
from starter.http.auth import door
from starter.http.oidc import OidcRefused, OidcUnavailable, OidcVerifier
from starter.http.pages import (
    FORGED,
    PageRefused,
    PostedDep,
    csrf_ok,
    now,
    redirect,
    render,
    sessions,
)
from starter.http.session import Session, Sessions
from starter.http.settings import HttpSettings

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)
HOME = "/desk"


def _settings(request: Request) -> HttpSettings:
    found: HttpSettings = request.app.state.http_settings
    return found


def _next(value: Any) -> str:
    """Where to go after signing in: a path of this service only, never another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return HOME


def _oidc(request: Request) -> OidcVerifier | None:
    """The verifier of the provider's ID tokens (audience: duban's client id), when the
    pages' single sign-on is configured."""
    s = _settings(request)
    if not (s.oidc_issuer and s.oidc_client_id):
        return None
    state = request.app.state
    found: OidcVerifier | None = getattr(state, "page_oidc", None)
    if found is None:
        found = OidcVerifier(s.oidc_issuer, s.oidc_client_id, s.oidc_claim)
        state.page_oidc = found
    return found


@router.get("/")
async def home(request: Request) -> Response:
    session = sessions(request).read(request)
    signed = await Sessions.valid(door(request).pool, session, now())
    return redirect(request, HOME if signed else "/login")


def _login_page(
    request: Request, session: Session, target: str, error: str = "", status: int = 200
) -> Response:
    context = {
        "heading": "登录",
        "next": target,
        "csrf": session.csrf,
        "error": error,
        "oidc": _oidc(request) is not None,
    }
    return render(request, "login.html", context, status, session=session)


@router.get("/login")
async def login_form(request: Request, next: str = HOME) -> Response:
    session = sessions(request).read(request)
    if await Sessions.valid(door(request).pool, session, now()):
        return redirect(request, _next(next))
    return _login_page(request, session, _next(next))


TOKEN_REFUSALS = {
    "expired": "令牌已过期，请向办公室申请新的令牌。",
    "revoked": "令牌已被撤销，请向办公室申请新的令牌。",
}


async def _signed_in(request: Request, person: str, how: str, target: str) -> Response:
    """Open the session for a person the credential named, if the directory has them."""
    pool = door(request).pool
    directory = await door(request).directory_now()
    if person not in directory.people:
        raise PageRefused(403, "无法登录", f"{person} 不在人员名录中，不能登录。")
    session = await Sessions.open(pool, person, how, now())
    name = directory.people[person].name
    log.info("signed in to the pages", person=person, how=how)
    return redirect(request, target, session.with_flash("done", f"{name}，您已登录。"))


@router.post("/login")
async def login(request: Request) -> Response:
    session = sessions(request).read(request)
    form = await request.form()
    target = _next(form.get("next"))
    if not csrf_ok(request, session, form):
        return _login_page(request, Session.fresh(), target, FORGED, 403)
    token = str(form.get("token", "")).strip()
    if not token:
        return _login_page(request, session, target, "请输入个人令牌。", 400)
    try:
        info = await identity.verify(door(request).pool, token, now())
    except identity.TokenRefused as err:
        said = next((w for k, w in TOKEN_REFUSALS.items() if str(err).endswith(k)), None)
        return _login_page(request, session, target, said or "令牌无效，请核对后重新输入。", 401)
    return await _signed_in(request, info.person_id, "token", target)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _redirect_uri(request: Request) -> str:
    return f"{_settings(request).public_url}/login/oidc/callback"


@router.get("/login/oidc")
async def oidc_start(request: Request, next: str = HOME) -> Response:
    """To the provider's authorization endpoint, with a state, a nonce and a PKCE
    challenge kept in the session until the provider sends the person back."""
    verifier = _oidc(request)
    if verifier is None:
        raise PageRefused(404, "未启用单点登录", "本系统未配置单点登录，请使用个人令牌登录。")
    try:
        endpoint = (await verifier.document())["authorization_endpoint"]
    except (OidcUnavailable, KeyError) as err:
        log.warning("single sign-on unavailable", error=str(err))
        raise PageRefused(503, "单点登录暂不可用", "请稍后再试，或使用个人令牌登录。") from err
    flow = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48),
        "next": _next(next),
    }
    session = replace(sessions(request).read(request), oidc=flow)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": _settings(request).oidc_client_id,
            "redirect_uri": _redirect_uri(request),
            "scope": "openid profile",
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": _challenge(flow["verifier"]),
            "code_challenge_method": "S256",
        }
    )
    joiner = "&" if "?" in str(endpoint) else "?"
    return redirect(request, f"{endpoint}{joiner}{query}", session)


async def _exchange(request: Request, verifier: OidcVerifier, code: str, pkce: str) -> str:
    """The ID token the provider's token endpoint gives for the code."""
    s = _settings(request)
    endpoint = (await verifier.document())["token_endpoint"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(request),
        "client_id": s.oidc_client_id or "",
        "code_verifier": pkce,
    }
    secret = s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else None
    auth = httpx.BasicAuth(s.oidc_client_id or "", secret) if secret else None
    async with httpx.AsyncClient(timeout=10, auth=auth) as http:
        answer = await http.post(endpoint, data=data)
    if answer.status_code != 200:
        raise OidcRefused(f"the token endpoint answered {answer.status_code}")
    id_token = answer.json().get("id_token")
    if not isinstance(id_token, str):
        raise OidcRefused("the token endpoint gave no id_token")
    return id_token


@router.get("/login/oidc/callback")
async def oidc_callback(
    request: Request, code: str = "", state: str = "", error: str = ""
) -> Response:
    verifier = _oidc(request)
    session = sessions(request).read(request)
    flow = session.oidc
    if verifier is None or not flow or not state:
        raise PageRefused(400, "登录未完成", "单点登录的返回无效，请重新登录。")
    if not secrets.compare_digest(state, flow.get("state", "")):
        raise PageRefused(403, "登录未完成", "单点登录的返回与本次登录不符，请重新登录。")
    if error or not code:
        log.info("single sign-on refused by the provider", error=error)
        fresh = Session.fresh().with_flash("refused", "单点登录未成功，请重试或使用个人令牌登录。")
        return redirect(request, "/login", fresh)
    try:
        id_token = await _exchange(request, verifier, code, flow["verifier"])
        claims = await verifier.claims(id_token)
        if not secrets.compare_digest(str(claims.get("nonce", "")), flow.get("nonce", "")):
            raise OidcRefused("token refused: the nonce is not this sign-in's")
        person = verifier.named(claims)
    except (OidcRefused, httpx.HTTPError, ValueError, KeyError) as err:
        log.warning("single sign-on: ID token refused", error=str(err))
        raise PageRefused(401, "登录未完成", "单点登录的身份凭证未通过校验，请重新登录。") from err
    except OidcUnavailable as err:
        log.warning("single sign-on unavailable", error=str(err))
        raise PageRefused(503, "单点登录暂不可用", "请稍后再试，或使用个人令牌登录。") from err
    return await _signed_in(request, person, "oidc", _next(flow.get("next")))


LINK_STATES = {
    "used": (410, "链接已使用", "此登录链接已使用过，每个链接只能登录一次。请重新申请。"),
    "expired": (410, "链接已过期", "此登录链接已过期，请重新申请。"),
    "unknown": (404, "链接无效", "此登录链接无效：地址可能不完整或有误。"),
}


@router.get("/login/link/{token}")
async def link_page(request: Request, token: str) -> Response:
    pool = door(request).pool
    found, person = await signin.state(pool, token, now())
    if found != "valid":
        status, heading, message = LINK_STATES[found]
        raise PageRefused(status, heading, message)
    directory = await door(request).directory_now()
    who = directory.people.get(person or "")
    session = sessions(request).read(request)
    context = {
        "heading": "登录",
        "name": who.name if who else person,
        "csrf": session.csrf,
    }
    return render(request, "login_link.html", context, session=session)


@router.post("/login/link/{token}")
async def use_link(request: Request, token: str) -> Response:
    session = sessions(request).read(request)
    form = await request.form()
    if not csrf_ok(request, session, form):
        raise PageRefused(403, "无法确认请求来源", "请从登录链接重新打开本页后再登录。")
    pool = door(request).pool
    person = await signin.use(pool, token, now())
    if person is None:
        found, _ = await signin.state(pool, token, now())
        status, heading, message = LINK_STATES[found if found != "valid" else "used"]
        raise PageRefused(status, heading, message)
    return await _signed_in(request, person, "link", HOME)


@router.post("/logout")
async def logout(request: Request, posted: PostedDep) -> Response:
    await Sessions.end(door(request).pool, posted.me.session, now())
    log.info("signed out of the pages", person=posted.me.person)
    return redirect(request, "/login", Session.fresh().with_flash("done", "您已退出登录。"))
