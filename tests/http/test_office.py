"""The office's page through the real stack, in headless Chromium at a phone's width, and
`duban task import` on the command line: a 20-row ledger with one bad row is refused
whole with the row named, nothing started; fixed, it is imported, every task started and
in the ledger; the same ledger again is refused as imported before. Assigning from the
form shows each refusal beside its field."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from playwright.async_api import Browser, Page
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities import directory as store
from starter import assign, ledgerfile
from starter.commands import today
from tests.conftest import venv_binary
from tests.http.conftest import Api
from tests.http.pages_kit import Site, browser, phone, shot, site
from tests.http.test_desk import page_sign_in

__all__ = ["browser", "site"]

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "ledger.csv"
BAD_LINE = 8  # the header is line 1: the seventh task


def ledger_rows(bad: bool, tag: str) -> list[list[Any]]:
    """The example ledger's twenty rows, due dates moved after today, titles tagged so each
    test's file is its own; with `bad`, the seventh names a unit the directory lacks."""
    with EXAMPLE.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    header, body = rows[0], rows[1:]
    assert len(body) == 20
    day = today()
    out: list[list[Any]] = [header]
    for n, row in enumerate(body, start=1):
        row = list(row)
        row[1] = f"{row[1]}（{tag}）"
        row[7] = day + timedelta(days=30 + n) if row[7] else None
        if bad and n == BAD_LINE - 1:
            row[4] = "区水务局"
        out.append(row)
    return out


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file)
        for row in rows:
            writer.writerow([v.isoformat() if isinstance(v, date) else (v or "") for v in row])
    return path


async def ids_of(api: Api, path: Path) -> list[str]:
    """The ids the import gives this file's rows."""
    directory = await store.load(api.pool)
    # The office's day, as the page and `duban task import` take it (not the host's).
    rows = assign.check_ledger(ledgerfile.read(path), path.read_bytes(), directory, today())
    return [r.fields["id"] for r in rows]


async def started(api: Api, ids: list[str]) -> list[str]:
    found = []
    for task_id in ids:
        try:
            await api.client.get_workflow_handle(task_id).describe()
        except RPCError:
            continue
        found.append(task_id)
    return found


async def in_ledger(api: Api, ids: list[str]) -> list[dict[str, Any]]:
    for _ in range(200):
        rows = await api.pool.fetch(
            "SELECT t.id, t.assigning_unit, e.actor FROM tasks t JOIN task_events e "
            "ON e.task_id = t.id AND e.kind = 'assigned' WHERE t.id = ANY($1)",
            ids,
        )
        if len(rows) == len(ids):
            return [dict(r) for r in rows]
        await asyncio.sleep(0.1)
    raise AssertionError("the imported tasks did not reach the ledger")


async def upload(page: Page, api: Api, path: Path) -> int:
    await page.goto(f"{api.url}/office")
    await page.set_input_files("#file", str(path))
    async with page.expect_navigation() as nav:
        await page.click("#import button[type=submit]")
    answer = await nav.value
    assert answer is not None
    return answer.status


async def test_the_office_imports_the_ledger_all_or_nothing(
    site: Site, browser: Browser, tmp_path: Path
) -> None:
    api = await site()
    bad = write_xlsx(tmp_path / "督办台账.xlsx", ledger_rows(bad=True, tag="页面"))
    would_be = await ids_of(api, bad)
    page = await phone(browser)
    await page_sign_in(page, api, "wu.shi")  # the office

    assert await upload(page, api, bad) == 422
    shown = await page.inner_text("body")
    assert "共 20 行，其中 1 行不符合要求，未导入任何任务" in shown
    said = await page.inner_text(f"#refusal-{BAD_LINE}")
    assert said == f"第 {BAD_LINE} 行：牵头单位：「区水务局」不是人员名录中的单位", said
    assert await page.locator("li.bad").count() == 1
    assert await page.locator(f"#line-{BAD_LINE}.bad").count() == 1
    assert await page.locator("form[action='/office/import/start']").count() == 0
    await page.screenshot(path=shot("import-refused.png"), full_page=True)
    await asyncio.sleep(0.5)
    assert await started(api, would_be) == []
    assert await api.pool.fetchval("SELECT count(*) FROM tasks WHERE id = ANY($1)", would_be) == 0

    fixed = write_xlsx(tmp_path / "督办台账.xlsx", ledger_rows(bad=False, tag="页面"))
    ids = await ids_of(api, fixed)
    assert await upload(page, api, fixed) == 200
    assert "共 20 行，全部符合要求" in await page.inner_text("body")
    assert "未读取的列：序号" in await page.inner_text("body")
    await page.get_by_role("button", name="确认交办 20 项任务").click()
    await page.wait_for_url(f"{api.url}/desk")
    assert "交办 20 项任务" in await page.inner_text("p.banner.done")
    rows = await in_ledger(api, ids)
    assert {(r["assigning_unit"], r["actor"]) for r in rows} == {("区政府办公室", "wu.shi")}
    assert sorted(await started(api, ids)) == sorted(ids)

    # The same ledger again is refused as imported before, whole.
    assert await upload(page, api, fixed) == 422
    assert "已存在" in await page.inner_text("#refusal-2")


async def test_assigning_from_the_form_shows_each_refusal_beside_its_field(
    site: Site, browser: Browser
) -> None:
    api = await site()
    page = await phone(browser)
    await page_sign_in(page, api, "wu.shi")
    await page.goto(f"{api.url}/office")
    count = await api.pool.fetchval("SELECT count(*) FROM tasks")
    await page.fill("#source", "区长办公会议纪要〔2026〕8号")
    await page.select_option("#lead_unit", "区司法局")
    await page.check("input[name=co_units][value='区司法局']")
    await page.fill("#standard", "   ")
    await page.evaluate("document.querySelector('#due').removeAttribute('min')")
    await page.fill("#due", (today() - timedelta(days=1)).isoformat())
    async with page.expect_navigation() as nav:
        await page.click("#assign button[type=submit]")
    answer = await nav.value
    assert answer is not None and answer.status == 422
    assert await page.inner_text("#error-title") == "必须填写"
    assert await page.inner_text("#error-co_units") == "牵头单位不能同时是协办单位"
    assert "已过" in await page.inner_text("#error-due")
    assert await page.inner_text("#error-standard") == "必须填写"
    assert await page.locator("#error-source").count() == 0
    assert await page.input_value("#source") == "区长办公会议纪要〔2026〕8号"  # kept
    await page.screenshot(path=shot("assign-refused.png"), full_page=True)
    assert await api.pool.fetchval("SELECT count(*) FROM tasks") == count

    await page.fill("#title", "开展行政规范性文件集中清理（表单）")
    await page.uncheck("input[name=co_units][value='区司法局']")
    await page.check("input[name=co_units][value='区财政局']")
    await page.fill("#standard", "完成清理并公布目录")
    await page.fill("#due", (today() + timedelta(days=60)).isoformat())
    await page.click("#assign button[type=submit]")
    await page.wait_for_url(f"{api.url}/tasks/**")
    assert "已交办：开展行政规范性文件集中清理（表单）" in await page.inner_text("p.banner.done")
    task_id = page.url.rsplit("/", 1)[1]
    state = await api.state(task_id)
    assert (state.spec.lead_unit, state.spec.co_units) == ("区司法局", ["区财政局"])


def duban(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_binary("duban") or "duban", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
async def test_duban_task_import(
    site: Site, dev_env: WorkflowEnvironment, pg_url: str, tmp_path: Path, encoding: str
) -> None:
    api = await site()
    env = {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "DUBAN_DATABASE_URL": pg_url,
        "DUBAN_DATA_DIR": str(tmp_path / "none"),
        "DUBAN_TASK_QUEUE": api.task_queue,  # type: ignore[attr-defined]
    }
    bad = write_csv(tmp_path / "ledger.csv", ledger_rows(True, f"命令行{encoding}"), encoding)
    would_be = await ids_of(api, bad)
    done = await asyncio.to_thread(duban, "task", "import", str(bad), env=env)
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line == (
        f"duban: {bad}:{BAD_LINE}: 牵头单位：「区水务局」不是人员名录中的单位 "
        "(20 rows; nothing imported)"
    ), line
    assert await started(api, would_be) == []

    fixed = write_csv(tmp_path / "ledger.csv", ledger_rows(False, f"命令行{encoding}"), encoding)
    ids = await ids_of(api, fixed)
    done = await asyncio.to_thread(duban, "task", "import", str(fixed), "--by", "wu.shi", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ids
    assert sorted(await started(api, ids)) == sorted(ids)
    again = await asyncio.to_thread(duban, "task", "import", str(fixed), env=env)
    assert again.returncode == 1 and "已存在" in again.stderr
