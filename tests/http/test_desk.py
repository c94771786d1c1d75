"""The desk in headless Chromium at a phone's width, through the real stack (Temporal's dev
server, PostgreSQL, a worker, the service on uvicorn): a clerk signs in with a token, signs
a task and reports on it from 我的任务; a clerk of another unit does not see it and gets
404 on its page; forms posted without their CSRF token are refused and change nothing."""

from __future__ import annotations

import asyncio
import html as html_lib
import re
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from tests.http.conftest import Api
from tests.http.pages_kit import Site, browser, browser_like, csrf_of, phone, shot, sign_in, site

__all__ = ["browser", "site"]


async def page_sign_in(page: Page, api: Api, person: str) -> None:
    """Sign in as a person does: open the service, be sent to the form, paste the token."""
    token = await api.token(person)
    await page.goto(api.url)
    assert page.url.endswith("/login")
    await page.fill("#token", token)
    await page.click("form[action='/login'] button[type=submit]")
    await page.wait_for_url(f"{api.url}/desk")


async def ledger_rows(api: Api, task_id: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
    for _ in range(200):
        rows = [r for r in await api.ledger(task_id) if r.get("kind") == kind]
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event for {task_id}")


async def events(api: Api, task_id: str) -> list[dict[str, Any]]:
    rows = await api.pool.fetch(
        "SELECT seq, kind, unit, actor, role, via FROM task_events WHERE task_id = $1 ORDER BY seq",
        task_id,
    )
    return [dict(r) for r in rows]


async def card(page: Page, task_id: str) -> Any:
    return page.locator(f"article[data-task='{task_id}']")


async def test_a_clerk_signs_and_reports_from_my_tasks(site: Site, browser: Browser) -> None:
    api = await site()
    task_id = await api.start(title="完善行政执法协调机制")
    other = await api.start(title="规范财政专项资金使用管理", lead_unit="区财政局", co_units=[])
    await ledger_rows(api, task_id, "deadline_set")
    await ledger_rows(api, other, "deadline_set")
    page = await phone(browser)
    await page_sign_in(page, api, "chen.yi")  # a member (经办人) of 区司法局, the lead unit

    mine = await card(page, task_id)
    said = await mine.inner_text()
    for words in ("完善行政执法协调机制", "待签收", "牵头", "待办：区司法局签收"):
        assert words in said, said
    assert re.search(r"剩余 \d+ 个工作日", said), said
    assert await page.locator(f"article[data-task='{other}']").count() == 0  # not 区司法局's
    await page.screenshot(path=shot("desk-my-tasks.png"), full_page=True)

    await mine.get_by_role("button", name="签收").click()
    await page.wait_for_selector("p.banner.done")
    banner = await page.inner_text("p.banner.done")
    assert banner.startswith("已签收，已记入督办台账"), banner
    [signed] = await ledger_rows(api, task_id, "received")
    assert (signed["actor"], signed["role"], signed["unit"], signed["via"]) == (
        "chen.yi",
        "member",
        "区司法局",
        "page",
    )
    # The card now asks for what comes next: the deployment, then the plan.
    mine = await card(page, task_id)
    assert "待办：区司法局报送部署情况" in await mine.inner_text()
    await mine.locator("summary", has_text="报送部署情况").click()
    await mine.get_by_label("部署情况（可不填）").fill("已召开专题会议部署，明确责任科室。")
    await mine.get_by_role("button", name="报送部署情况").click()
    await page.wait_for_selector("p.banner.done")
    await ledger_rows(api, task_id, "deployed")

    mine = await card(page, task_id)
    await mine.locator("summary", has_text="报送实施计划").click()
    # An empty report is not sent: the browser asks for the text first.
    await mine.get_by_role("button", name="报送实施计划").click()
    await asyncio.sleep(0.3)
    assert "reported_plan" not in [e["kind"] for e in await events(api, task_id)]
    await mine.get_by_label("实施计划").fill("十二月底前形成协调办法初稿，征求意见后印发。")
    await mine.get_by_role("button", name="报送实施计划").click()
    await page.wait_for_selector("p.banner.done")
    [plan] = await ledger_rows(api, task_id, "reported_plan")
    assert (plan["actor"], plan["via"]) == ("chen.yi", "page")
    assert (await api.state(task_id)).stage.value == "planned"

    # The task's page: its timeline from the ledger, who in which role and how.
    await page.goto(f"{api.url}/tasks/{task_id}")
    body = await page.inner_text("body")
    for words in ("办理记录", "签收", "陈一", "经办人", "网页", "报送实施计划", "时限", "依据"):
        assert words in body, words
    await page.screenshot(path=shot("task-page.png"), full_page=True)


async def test_a_clerk_of_another_unit_does_not_see_the_task(site: Site, browser: Browser) -> None:
    api = await site()
    task_id = await api.start(title="推进政府采购全流程电子化")
    await ledger_rows(api, task_id, "deadline_set")
    page = await phone(browser)
    await page_sign_in(page, api, "ma.yi")  # 区教育局: on no unit of this task
    assert await page.locator(f"article[data-task='{task_id}']").count() == 0
    assert task_id not in await page.content()
    opened = await page.goto(f"{api.url}/tasks/{task_id}")
    assert opened is not None and opened.status == 404
    assert "任务不存在" in await page.inner_text("body")
    assert task_id not in await page.content()
    # A task that does not exist reads the same.
    missing = await page.goto(f"{api.url}/tasks/T-none-{task_id[-6:]}")
    assert missing is not None and missing.status == 404
    # And posting to it changes nothing.
    async with browser_like(api) as http:
        await sign_in(http, await api.token("ma.yi"))
        form = csrf_of((await http.get("/desk")).text)
        answer = await http.post(f"/tasks/{task_id}/act", data={"csrf": form, "action": "receive"})
        assert answer.status_code == 404
    assert [e["kind"] for e in await events(api, task_id)].count("received") == 0


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(site: Site) -> None:
    api = await site()
    task_id = await api.start()
    await ledger_rows(api, task_id, "deadline_set")
    before = await events(api, task_id)
    async with browser_like(api) as http:
        await sign_in(http, await api.token("chen.yi"))
        page = await http.get(f"/tasks/{task_id}")
        assert page.status_code == 200 and 'value="receive"' in page.text
        token = csrf_of(page.text)
        for data, headers in (
            ({"action": "receive"}, {}),  # no token
            ({"action": "receive", "csrf": "x" * len(token)}, {}),  # a wrong one
            ({"action": "receive", "csrf": token}, {"Origin": "http://evil.example"}),
        ):
            answer = await http.post(f"/tasks/{task_id}/act", data=data, headers=headers)
            assert answer.status_code == 403, answer.text
            assert "无法确认请求来源" in answer.text
        started = await api.pool.fetchval("SELECT count(*) FROM tasks")
        office = await http.post(
            "/office/assign", data={"title": "伪造的任务", "lead_unit": "区司法局"}
        )
        assert office.status_code == 403
        await asyncio.sleep(0.5)
        assert await events(api, task_id) == before
        assert await api.pool.fetchval("SELECT count(*) FROM tasks") == started
        # With its token the same form is taken.
        taken = await http.post(
            f"/tasks/{task_id}/act",
            data={"action": "receive", "csrf": token, "back": f"/tasks/{task_id}"},
        )
        assert (taken.status_code, taken.headers["location"]) == (303, f"/tasks/{task_id}")
    await ledger_rows(api, task_id, "received")


async def test_pages_say_no_english(site: Site) -> None:
    """Every page a clerk and the office see is Chinese: no English word outside ids."""
    api = await site()
    task_id = await api.start()
    await ledger_rows(api, task_id, "deadline_set")
    async with browser_like(api) as http:
        pages = [(await http.get("/login")).text]
        await sign_in(http, await api.token("wu.shi"))
        for path in ("/desk", f"/tasks/{task_id}", "/office"):
            answer = await http.get(path)
            assert answer.status_code == 200, path
            pages.append(answer.text)
    # What people typed is theirs, in whatever words (other tests' tasks share the ledger,
    # a hostile one titled =HYPERLINK(...)): the pages' own words are checked.
    typed = [r["title"] for r in await api.pool.fetch("SELECT title FROM tasks")]
    typed += [r["detail"] for r in await api.pool.fetch("SELECT detail FROM task_events")]
    # Units are named by the office, and other tests name theirs with a random hex tail
    # (区政府办公室-3adfc1): a unit's name is the directory's words, not the page's.
    typed += [
        r["unit"]
        for r in await api.pool.fetch(
            "SELECT name AS unit FROM units UNION SELECT assigning_unit FROM tasks "
            "UNION SELECT lead_unit FROM tasks UNION SELECT unnest(co_units) FROM tasks"
        )
    ]
    for html in pages:
        bare = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", bare))
        for said in sorted(set(typed), key=len, reverse=True):
            if said:
                text = text.replace(said, " ")
        text = re.sub(r"T-[\w-]+", "", text)  # task ids
        words = set(re.findall(r"[A-Za-z]{3,}", text)) - {"dbn", "duban", "xlsx", "CSV", "MiB"}
        assert not words, [(w, text[max(0, text.find(w) - 40) : text.find(w) + 40]) for w in words]


async def test_every_page_sends_the_unsigned_to_sign_in(site: Site) -> None:
    api = await site()
    async with httpx.AsyncClient(base_url=api.url) as http:
        for path in ("/desk", "/office", "/tasks/T-x"):
            answer = await http.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def act(http: httpx.AsyncClient, task_id: str, action: str, **fields: str) -> httpx.Response:
    """Post a form of the task's page as the browser would, with its token."""
    page = await http.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert f'value="{action}"' in page.text, f"no {action} form on the page"
    data = {"csrf": csrf_of(page.text), "action": action, "back": f"/tasks/{task_id}", **fields}
    answer = await http.post(f"/tasks/{task_id}/act", data=data)
    assert answer.status_code == 303, answer.text
    return answer


async def flash(http: httpx.AsyncClient, task_id: str) -> str:
    found = re.search(
        r'<p class="banner (\w+)" role="status">([^<]*)</p>',
        (await http.get(f"/tasks/{task_id}")).text,
    )
    assert found is not None
    return f"{found.group(1)}:{found.group(2)}"


async def test_the_office_answers_from_the_task_page(site: Site) -> None:
    api = await site()
    done, hard, gone = (await api.start(), await api.start(), await api.start())
    for task_id in (done, hard):
        for word, body in (("receive", {}), ("deploy", {})):
            answer = await api.call("POST", f"/api/tasks/{task_id}/{word}", "chen.yi", json=body)
            assert answer.status_code == 200, answer.text
    for kind in ("plan", "completion"):
        body = {"kind": kind, "text": "已完成"}
        answer = await api.call("POST", f"/api/tasks/{done}/report", "chen.yi", json=body)
        assert answer.status_code == 200, answer.text
    said = {"text": "编制不足，需协调人员"}
    assert (
        await api.call("POST", f"/api/tasks/{hard}/difficulty", "chen.yi", json=said)
    ).status_code == 200
    await ledger_rows(api, gone, "deadline_set")

    async with browser_like(api) as http:
        await sign_in(http, await api.token("wu.shi"))
        # A completion sent back with its reason, then verified.
        page = (await http.get(f"/tasks/{done}")).text
        assert 'value="verify"' in page and 'value="reject"' in page
        assert 'value="receive"' not in page  # not the office's to sign
        await act(http, done, "reject", text="缺少印发文件，请补充")
        assert (await flash(http, done)).startswith("done:已退回重办")
        [back] = await ledger_rows(api, done, "rejected")
        assert (back["actor"], back["role"], back["via"]) == ("wu.shi", "office", "page")
        body = {"kind": "completion", "text": "已补充印发文件"}
        assert (
            await api.call("POST", f"/api/tasks/{done}/report", "chen.yi", json=body)
        ).status_code == 200
        await act(http, done, "verify")
        await ledger_rows(api, done, "verified")
        assert (await api.state(done)).stage.value == "closed"
        assert 'value="verify"' not in (await http.get(f"/tasks/{done}")).text

        # A difficulty answered with one of its answers.
        await act(http, hard, "answer_difficulty", decision="continue", text="请继续推进")
        [answered] = await ledger_rows(api, hard, "difficulty_answered")
        assert answered["actor"] == "wu.shi"
        # An extension asked for, and approved from the page.
        until = {"until": "2099-12-31", "text": "需等待上级批复"}
        assert (
            await api.call("POST", f"/api/tasks/{hard}/extend", "chen.yi", json=until)
        ).status_code == 200
        await act(http, hard, "decide_extension", decision="approve")
        await ledger_rows(api, hard, "extension_approved")

        # A withdrawal without its reason is not sent; with it, it is.
        before = await events(api, gone)
        page = (await http.get(f"/tasks/{gone}")).text
        await http.post(
            f"/tasks/{gone}/act",
            data={"csrf": csrf_of(page), "action": "withdraw", "back": f"/tasks/{gone}"},
        )
        assert await flash(http, gone) == "refused:请填写撤回理由。"
        assert await events(api, gone) == before
        await act(http, gone, "withdraw", text="任务已并入其他事项")
        [withdrawn] = await ledger_rows(api, gone, "withdrawn")
        assert (withdrawn["actor"], withdrawn["via"]) == ("wu.shi", "page")


async def test_a_stand_in_acknowledges_an_escalation_from_my_tasks(site: Site) -> None:
    """The deputy secretary-general is away: the stand-in sees the escalated task of a unit
    the deputy covers on 我的任务 and takes it up there, recorded as a stand-in."""
    from tests.http.conftest import FAST

    api = await site()
    task_id = await api.start(policy=FAST)
    for _ in range(300):
        state = await api.state(task_id)
        if state.escalation_level == 2 and not state.unrecorded:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the task did not climb to level 2")
    async with browser_like(api) as http:
        await sign_in(http, await api.token("qian.qi"))
        desk = (await http.get("/desk")).text
        found = re.search(rf'data-task="{task_id}".*?</article>', desk, flags=re.S)
        assert found is not None, "the escalated task is not on the stand-in's desk"
        shown = found.group(0)
        assert "我已知悉并督办" in shown and 'value="receive"' not in shown
        assert "<span>督办</span>" in shown  # a leader watching, not the lead unit
        answer = await http.post(
            f"/tasks/{task_id}/act",
            data={"csrf": csrf_of(desk), "action": "ack", "back": "/desk"},
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/desk")
    [ack] = await ledger_rows(api, task_id, "acknowledged")
    row = await api.pool.fetchrow(
        "SELECT actor, role, unit, via, stand_in_for FROM task_events "
        "WHERE task_id = $1 AND seq = $2",
        task_id,
        ack["seq"],
    )
    assert dict(row) == {
        "actor": "qian.qi",
        "role": "deputy_secretary_general",
        "unit": "区司法局",
        "via": "page",
        "stand_in_for": "zhao.liu",
    }
