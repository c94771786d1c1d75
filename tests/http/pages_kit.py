"""What the pages' tests share: the service on a port known before it starts (its public
address goes into the settings), a worker on a fresh task queue, a browser-like client
that keeps cookies and reads the CSRF token off a page, and headless Chromium."""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities import directory as store
from bench.stack import free_port
from starter.http.app import create_app
from starter.http.server import beside
from starter.http.settings import HttpSettings
from tests.e2e.test_web_ui import FLAGS
from tests.http.conftest import Api
from worker.main import build_worker
from worker.settings import Settings

PHONE = {"width": 390, "height": 844}
# Screenshots of a run go with the other test artifacts (ignored by git); the README's own
# pictures in deploy/screenshots/ are copied from there by hand when the pages change.
SHOTS = Path(__file__).resolve().parents[1] / "artifacts"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')

Site = Callable[..., Awaitable[Api]]


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    pg_url: str,
    people: store.Directory,
    tmp_path: Path,
) -> AsyncIterator[Site]:
    """Start the service (and a worker) with these HttpSettings fields; the public
    address is the service's own, the session key in a fresh data directory."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(**fields: Any) -> Api:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            task_queue = f"tq-{uuid.uuid4()}"
            worker_settings = Settings(task_queue=task_queue, http_public_url=base)
            worker = build_worker(dev_env.client, pool, worker_settings)
            await stack.enter_async_context(worker)
            settings = HttpSettings(
                http_public_url=base, http_port=port, data_dir=tmp_path / "data", **fields
            )

            async def same_client() -> Client:
                return dev_env.client

            app = create_app(settings, same_client, pg_url, task_queue)
            await stack.enter_async_context(beside(app, "127.0.0.1", port))
            api = Api(base, pool, dev_env.client, {})
            api.task_queue = task_queue  # type: ignore[attr-defined]
            return api

        yield start


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html[:500]
    return found.group(1)


def browser_like(api: Api) -> httpx.AsyncClient:
    """A client that keeps cookies and does not follow redirects (the tests read them)."""
    return httpx.AsyncClient(base_url=api.url, timeout=30, follow_redirects=False)


async def sign_in(http: httpx.AsyncClient, token: str, next: str = "/desk") -> httpx.Response:
    page = await http.get(f"/login?next={next}")
    assert page.status_code == 200, page.text
    return await http.post(
        "/login", data={"csrf": csrf_of(page.text), "token": token, "next": next}
    )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the browser test (make test installs it)"
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        await launched.close()


async def phone(browser: Browser) -> Page:
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")
    return await context.new_page()


def shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name
