"""What every signed-in page shares: who is signed in (`Me`, a dependency, as the API's
`Caller`), the CSRF check of every form, rendering a template with the pages' headers and
the session cookie, and the pages a refusal or a missing sign-in turn into.

A page route takes `me: MeDep`; a form's route takes `posted: PostedDep` (the person and
the form, its CSRF token checked). Both come from the session cookie (starter.http.session)
checked against the token store and today's directory, on every request."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from activities.directory import Directory, Seat
from starter.http.auth import door
from starter.http.session import Session, Sessions, load_key
from starter.http.settings import HttpSettings
from workflows.names import Via
from workflows.windows import OFFICE_TZ

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
}


@dataclass(frozen=True)
class Me:
    """The person signed in, as today's directory has them."""

    person: str
    name: str
    how: str  # token | oidc | link
    session: Session
    directory: Directory
    today: date
    seats: list[Seat] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def via(self) -> Via:
        return Via.PAGE

    @property
    def office(self) -> bool:
        return any(s.role == "office" for s in self.seats)

    @property
    def menu(self) -> list[tuple[str, str, str]]:
        """(address, label, name) of each page in the header's menu."""
        items = [("/desk", "我的任务", "desk")]
        if self.office:
            items.append(("/office", "办公室", "office"))
        items.append(("/board", "看板", "board"))
        return items


class PageRedirect(Exception):
    def __init__(self, url: str, session: Session | None = None) -> None:
        super().__init__(url)
        self.url = url
        self.session = session


class PageRefused(Exception):
    """A page's refusal: its status, a heading and one line saying why, in Chinese."""

    def __init__(self, status: int, heading: str, message: str, me: Me | None = None) -> None:
        super().__init__(message)
        self.status, self.heading, self.message, self.me = status, heading, message, me


def sessions(request: Request) -> Sessions:
    """The app's session signer, its key read (or made) on first use."""
    state = request.app.state
    found: Sessions | None = getattr(state, "sessions", None)
    if found is None:
        settings: HttpSettings = state.http_settings
        key = settings.session_key.get_secret_value() if settings.session_key else None
        found = Sessions(load_key(key, settings.data_dir), settings.http_public_url)
        state.sessions = found
    return found


def now() -> datetime:
    return datetime.now(UTC)


async def me(request: Request) -> Me:
    """The person signed in; a page asked for without a session goes to the sign-in page
    (and comes back after), a form posted without one is refused."""
    session = sessions(request).read(request)
    pool = door(request).pool
    at = now()
    if not await Sessions.valid(pool, session, at):
        if request.method != "GET":
            raise PageRefused(403, "请先登录", "登录已失效，请重新登录后再办理。")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PageRedirect(f"/login?next={quote(target, safe='')}")
    directory = await door(request).directory_now()
    assert session.person is not None
    person = directory.people.get(session.person)
    if person is None:
        fresh = Session.fresh().with_flash("refused", "您已不在人员名录中，不能登录。")
        raise PageRedirect("/login", fresh)
    today = at.astimezone(OFFICE_TZ).date()
    seats = directory.seats(session.person, today)
    how = session.how or "token"
    return Me(session.person, person.name, how, session, directory, today, seats)


MeDep = Annotated[Me, Depends(me)]


def same_origin(request: Request) -> bool:
    """A form posted from this service's own page: its Origin (or Referer) names this host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser's cross-site request; the token still has to match
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_ok(request: Request, session: Session, form: FormData) -> bool:
    given = form.get("csrf")
    return (
        isinstance(given, str)
        and same_origin(request)
        and hmac.compare_digest(given.encode(), session.csrf.encode())
    )


FORGED = "表单已失效或来源不明，请刷新页面后重试。"


@dataclass(frozen=True)
class Posted:
    me: Me
    form: FormData


async def posted(request: Request, who: MeDep) -> Posted:
    """A form from a signed-in page, its CSRF token matched against the session's."""
    form = await request.form()
    if not csrf_ok(request, who.session, form):
        raise PageRefused(403, "无法确认请求来源", FORGED, who)
    return Posted(who, form)


PostedDep = Annotated[Posted, Depends(posted)]


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
    """The template with the pages' headers. The session (the signed-in one's unless one is
    given) is written back when it is given or has a line to show once, then forgotten."""
    who: Me | None = context.get("me")
    given = session is not None
    session = session or (who.session if who else None)
    flash = session.flash if session else None
    shown = {"flash": {"tone": flash[0], "text": flash[1]} if flash else None, **context}
    response = TEMPLATES.TemplateResponse(request, name, shown, status_code=status, headers=HEADERS)
    if session is not None and (given or flash):
        sessions(request).write(request, response, replace(session, flash=None))
    return response


def redirect(request: Request, url: str, session: Session | None = None) -> Response:
    """303 to `url` (after a form: the browser asks for it with GET)."""
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    if session is not None:
        sessions(request).write(request, response, session)
    return response


def back(request: Request, who: Me, url: str, tone: str, text: str) -> Response:
    """Back to a page with one line to show on it."""
    return redirect(request, url, who.session.with_flash(tone, text))


def install(app: FastAPI, settings: HttpSettings) -> None:
    """The pages' static files, settings and the pages a redirect or a refusal become."""
    app.state.http_settings = settings
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(PageRedirect)
    async def _redirect(request: Request, err: PageRedirect) -> Response:
        return redirect(request, err.url, err.session)

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, err: PageRefused) -> Response:
        context = {"heading": err.heading, "message": err.message, "tone": "refused"}
        return render(request, "state.html", context | {"me": err.me}, err.status)
