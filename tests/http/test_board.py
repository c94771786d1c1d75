"""The board's page, its workbook and its JSON through `duban serve`'s app on loopback, over a
hand-built ledger in PostgreSQL: the office sees every unit's lights and accountability as
the ledger has them, a leader in charge only the units they cover, a clerk is refused; the
page draws its charts in headless Chromium at a phone's width (the screenshot goes to
deploy/screenshots/board.png), and the quarter's workbook downloads and reads back."""

from __future__ import annotations

import io
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from openpyxl import load_workbook
from playwright.async_api import Browser, async_playwright

from activities.board import Filters, board
from activities.periods import Period
from starter.http.session import COOKIE, SALT, Sessions
from starter.http.settings import HttpSettings
from tests.e2e.test_web_ui import FLAGS
from tests.http.conftest import Api
from tests.integration.ledger_kit import Story, notice, record
from workflows.contracts import Stage
from workflows.names import EventKind as K

KEY = "k" * 40
# Screenshots of a run go with the other test artifacts (ignored by git); the README's own
# pictures in deploy/screenshots/ are copied from there by hand when the pages change.
SHOTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}
Q4 = Period.parse("2026-Q4")
LEADS = ("区司法局", "区财政局", "区人社局", "区教育局")


async def cookie(pool: asyncpg.Pool, person: str) -> dict[str, str]:
    """A signed-in page session for `person`, as signing in leaves it (starter.http.session)."""
    session = await Sessions.open(pool, person, "token", datetime.now(UTC))
    signed = URLSafeTimedSerializer(KEY.encode(), salt=SALT).dumps(session.dump())
    return {COOKIE: signed}


async def ledger(pool: asyncpg.Pool, office: str) -> dict[str, str]:
    """A quarter of an office's tasks: lights of every colour, climbs, a difficulty the
    office took two days to answer, tasks closed on time and late, a notice that failed."""
    made: dict[str, str] = {}

    async def task(
        name: str, lead: str, story: Story, stage: Stage = Stage.IN_PROGRESS, **kw: object
    ) -> None:
        story.title = f"{name}：完善{lead}行政执法协调机制"
        made[name] = await record(pool, story, stage, **kw)  # type: ignore[arg-type]

    for i, lead in enumerate(LEADS):
        for j, light in enumerate(("green", "green", "yellow", "red", "grey")[: 5 - i]):
            s = Story(lead, office).then("2026-10-12 09:00", K.ASSIGNED, office)
            level = (j + i) % 3 + 1 if light == "red" else 0
            await task(f"{lead}-{j}", lead, s, light=light, level=level)  # type: ignore[arg-type]
    late = (
        Story("区司法局", office)
        .then("2026-11-02 09:30", K.DEADLINE_SET, "区司法局", deadline="2026-11-13 18:00")
        .then("2026-11-13 18:00", K.MISSED, "区司法局")
        .then("2026-11-13 18:00", K.ESCALATED, "区司法局", level=1)
        .then("2026-11-18 10:00", K.DIFFICULTY_REPORTED, "区司法局")
        .matter("2026-11-18 10:00", K.MATTER_OPENED, "difficulty", office, 0, "2026-11-23 18:00")
        .then("2026-11-20 10:00", K.DIFFICULTY_ANSWERED, office, detail="继续执行")
        .then("2026-11-20 15:00", K.REPORTED_COMPLETION, "区司法局")
        .then("2026-11-20 16:00", K.VERIFIED, office)
    )
    await task("逾期办结", "区司法局", late, Stage.CLOSED)
    for lead in ("区财政局", "区人社局"):
        done = (
            Story(lead, office, due=date(2026, 11, 30))
            .then("2026-10-12 09:00", K.DEADLINE_SET, lead, deadline="2026-11-30 18:00")
            .then("2026-11-10 10:00", K.REPORTED_COMPLETION, lead)
            .then("2026-11-11 10:00", K.VERIFIED, office)
        )
        await task(f"{lead}按期办结", lead, done, Stage.CLOSED)
    await notice(pool, made["区司法局-3"], 4, "failed", unit="区司法局", error="503")
    return made


@pytest.fixture
async def site(
    serve: Callable[..., Awaitable[Api]], pool: asyncpg.Pool, people: object
) -> AsyncIterator[tuple[Api, str]]:
    api = await serve(HttpSettings(session_key=KEY))
    office = f"区政府办公室-{uuid.uuid4().hex[:6]}"
    await ledger(pool, office)
    yield api, office


async def get(api: Api, path: str, person: str, **params: str) -> httpx.Response:
    jar = await cookie(api.pool, person)
    async with httpx.AsyncClient(base_url=api.url, cookies=jar, timeout=30) as http:
        return await http.get(path, params=params)


def cells(html: str, unit: str, light: str) -> int:
    """The number in the lights table's row for `unit`, column `light`."""
    row = html.split(f'<tr data-unit="{unit}">', 1)[1].split("</tr>", 1)[0]
    return int(row.split(f'data-light="{light}">', 1)[1].split("<", 1)[0])


async def test_the_office_sees_the_ledger_s_figures(site: tuple[Api, str]) -> None:
    api, office = site
    page = await get(api, "/board", "wu.shi", period="2026-Q4", assigning=office)
    assert page.status_code == 200, page.text
    html = page.text
    assert "督查督办看板 · 2026年第四季度" in html and "各单位亮灯情况" in html
    expected = await board(api.pool, Filters(Q4, assigning_unit=office), datetime.now(UTC))
    assert {u["unit"] for u in expected.units} == set(LEADS)
    for u in expected.units:
        for light in ("green", "yellow", "red", "grey", "closed", "escalated"):
            assert cells(html, u["unit"], light) == u[light], (u["unit"], light)
    assert f'<b data-total="red">{expected.totals["red"]}</b>' in html
    assert '<b data-total="undelivered">1</b>' in html
    # accountability: the unit's three days, the office's two apart
    assert '<tr data-unit="区司法局">' in html.split("问责问效", 1)[1]
    assert 'data-own="3"' in html
    # Its chart is served here; nothing is loaded from elsewhere. (Not a search for "cdn":
    # the page's random CSRF token spells it about once in a thousand.)
    assert "/static/chart.umd.min.js" in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)

    as_json = await api.call(
        "GET", "/api/board", "wu.shi", params={"period": "2026-Q4", "assigning_unit": office}
    )
    assert as_json.status_code == 200, as_json.text
    body = as_json.json()
    assert body["totals"] == expected.totals
    mine = next(u for u in body["accountability"]["units"] if u["unit"] == "区司法局")
    assert (mine["own_late_days"], mine["waited_days"], mine["closed"]) == (3, 2, 1)


async def test_a_leader_sees_the_units_they_cover_and_a_clerk_nothing(
    site: tuple[Api, str],
) -> None:
    api, office = site
    # zhou.jiu is the leader in charge of 区司法局, 区财政局 and 区人社局, not of 区教育局
    page = await get(api, "/board", "zhou.jiu", period="2026-Q4", assigning=office)
    assert page.status_code == 200, page.text
    assert '<tr data-unit="区财政局">' in page.text
    assert "区教育局" not in page.text
    refused = await get(api, "/board", "chen.yi", period="2026-Q4")
    assert refused.status_code == 403
    assert "无权查看看板" in refused.text and "Traceback" not in refused.text
    api_refused = await api.call("GET", "/api/board", "chen.yi")
    assert api_refused.status_code == 403 and set(api_refused.json()) == {"error"}
    bad = await get(api, "/board", "wu.shi", period="2026-Q5")
    assert bad.status_code == 400 and "时段写法不对" in bad.text
    bad_api = await api.call("GET", "/api/board", "wu.shi", params={"urgency": "soon"})
    assert bad_api.status_code == 400 and set(bad_api.json()) == {"error"}
    unsigned = await api.call("GET", "/board")
    assert unsigned.status_code in (302, 303, 307) or "/login" in str(unsigned.url)


async def test_the_quarter_s_workbook_downloads(site: tuple[Api, str]) -> None:
    api, office = site
    got = await get(api, "/board/report.xlsx", "wu.shi", period="2026-Q4", assigning=office)
    assert got.status_code == 200, got.text
    assert got.headers["content-disposition"] == 'attachment; filename="duban-quarter-2026-Q4.xlsx"'
    book = load_workbook(io.BytesIO(got.content))
    rows = {r[0]: r for r in book["按单位"].iter_rows(min_row=4, values_only=True)}
    assert set(rows) == {*LEADS, office}
    assert rows["区财政局"][1:4] == (1, 1, 1.0)  # closed, on time, 100%


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the browser test (make test installs it)"
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield launched
        await launched.close()


async def test_the_board_on_a_phone(
    site: tuple[Api, str], browser: Browser, tmp_path: Path
) -> None:
    api, office = site
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, accept_downloads=True
    )
    jar = await cookie(api.pool, "wu.shi")
    await context.add_cookies([{"name": COOKIE, "value": jar[COOKIE], "url": api.url}])
    page = await context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("pageerror", lambda e: failed.append(str(e)))
    await page.goto(f"{api.url}/board?period=2026-Q4&assigning={office}")
    assert await page.locator("details.filters").get_attribute("open") is None
    await page.wait_for_selector("body[data-charts='4']", timeout=15_000)
    drawn = await page.eval_on_selector_all(
        "[data-chart] canvas", "cs => cs.map(c => c.width > 0 && c.height > 0)"
    )
    assert drawn == [True] * 4
    # nothing wider than the phone: the tables scroll inside their cards
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    assert failed == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    # for the README: the first screens (filters, totals, lights), and the accountability
    await page.screenshot(
        path=str(SHOTS / "board.png"), clip={"x": 0, "y": 0, "width": 390, "height": 1250}
    )
    accountability = page.locator("section.card", has_text="问责问效")
    await accountability.screenshot(path=str(SHOTS / "board-accountability.png"))

    async with page.expect_download() as info:
        await page.click("text=下载2026年第四季度季度考核表（电子表格）")
    download = await info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.name == "duban-quarter-2026-Q4.xlsx"
    assert load_workbook(saved)["按单位"]["A1"].value == "督查督办季度考核统计（2026年第四季度）"
    await context.close()
