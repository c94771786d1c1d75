"""The Temporal Web UI as the ops console, driven in headless Chromium: filter by unit and
light, open a task, and read its summary, current details and timer summaries, decoded by
duban's codec server for a signed-in ops person (tests/e2e/codec_ui.py)."""

from __future__ import annotations

import shutil
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.codec_ui import OPS, decoding, ops_directory
from tests.e2e.stack import Stack, wait_for
from tests.e2e.test_cli import task_file

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).parent.parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the browser test (make test installs it)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield browser
        await browser.close()


async def _open(page: Page, url: str, text: str) -> None:
    await page.goto(url)
    await page.get_by_text(text).first.wait_for(timeout=30_000)


async def _text_with(page: Page, wanted: str, seconds: float = 30) -> str:
    """The page's visible text, frames included, once it shows `wanted`."""
    for _ in range(int(seconds * 4)):
        # Summaries and details are rendered from markdown inside sandboxed frames.
        parts = []
        for frame in page.frames:
            try:
                parts.append(await frame.inner_text("body"))
            except Exception:  # a frame still loading
                continue
        text = "\n".join(parts)
        if wanted in text:
            return text
        await page.wait_for_timeout(250)
    raise AssertionError(f"the page never showed {wanted!r}")


async def test_the_ui_tells_a_task_s_story(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    SHOTS.mkdir(exist_ok=True)
    # Three tasks in three states: red at the principal leader, received, and another unit's.
    red = task_file(tmp_path, "T-UI-RED")
    stack.ok("task", "start", str(red))
    calm = tmp_path / "calm.yaml"
    calm.write_text(red.read_text().replace("T-UI-RED", "T-UI-CALM"), encoding="utf-8")
    stack.ok("task", "start", str(calm))
    stack.ok("task", "receive", "T-UI-CALM", "--unit", "区司法局", "--by", "张三")
    other = tmp_path / "other.yaml"
    other.write_text(
        red.read_text()
        .replace("T-UI-RED", "T-UI-OTHER")
        .replace("lead_unit: 区司法局", "lead_unit: 区教育局"),
        encoding="utf-8",
    )
    stack.ok("task", "start", str(other))
    wait_for(lambda: stack.show("T-UI-RED")["escalation_level"] >= 2)
    wait_for(lambda: "T-UI-RED" in stack.ok("task", "list", "--light", "red", "--unit", "区司法局"))

    # Summaries, details and inputs are sealed (issue 16): the story reads for an ops
    # person signed in whose UI sends the session to the codec server.
    stack.ok("directory", "import", str(ops_directory(tmp_path)))
    context = await browser.new_context(viewport={"width": 1600, "height": 1000})
    await decoding(context, stack, OPS)
    page = await context.new_page()
    base = f"http://localhost:{stack.ui_port}/namespaces/default"
    query = urllib.parse.quote('LeadUnit="区司法局" AND Light="red"')
    await _open(page, f"{base}/workflows?query={query}", "T-UI-RED")
    listed = await page.content()
    assert "T-UI-RED" in listed and "T-UI-CALM" not in listed and "T-UI-OTHER" not in listed
    await page.screenshot(path=str(SHOTS / "ui-filter-red.png"), full_page=True)

    run_id = stack.show("T-UI-RED")["run_id"]
    await _open(page, f"{base}/workflows/T-UI-RED/{run_id}/history", "完善行政执法协调机制")
    history = await page.content()
    assert "答复截止" in history or "签收截止" in history  # the timers' summaries
    await page.screenshot(path=str(SHOTS / "ui-task-history.png"), full_page=True)
    await page.get_by_test_id("user-metadata-tab").click()
    story = await _text_with(page, "升级层级")
    assert "牵头 区司法局" in story  # the static summary
    assert "工作标准" in story  # the static details
    assert "阶段" in story and "灯" in story and "已通知" in story  # the current details
    await page.screenshot(path=str(SHOTS / "ui-task-story.png"), full_page=True)
