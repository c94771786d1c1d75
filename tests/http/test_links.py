"""Action links through the real stack: Temporal's dev server, PostgreSQL, a worker with the
real activities sending to a WeCom robot peer and a webhook peer on loopback, and the HTTP
service. The escalation's link is taken from the text the WeCom peer received, opened and
acted on in headless Chromium as a phone shows it; used, expired and tampered links, a
forged form and a refusal by the task change nothing."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities import directory as store
from activities import links
from bench.stack import free_port
from starter.http.app import create_app
from starter.http.server import beside
from starter.http.settings import HttpSettings
from tests.e2e.test_web_ui import FLAGS
from tests.http.conftest import CALM, Api
from tests.peers import WebhookReceiver
from tests.tamper import changed
from worker.main import build_worker
from worker.settings import Settings

SHOTS = Path(__file__).parent.parent / "artifacts"
PHONE = {"width": 390, "height": 844}
# The receipt is missed in two seconds, the lead unit's head has two seconds more; the
# deputy secretary-general then has an hour, and so has the link made for them.
CLIMB = {
    **CALM,
    "name": "climb",
    "windows": {**CALM["windows"], "receive": "2s"},  # type: ignore[dict-item]
    "escalation": [
        {"level": "lead_unit", "answer_within": "2s"},
        {"level": "deputy_secretary_general", "answer_within": "1h"},
        {"level": "principal_leader", "answer_within": "1h"},
    ],
}
# The receipt missed in two seconds; the lead unit's head then has an hour at level 1.
LEVEL_ONE = {
    **CLIMB,
    "name": "level-one",
    "escalation": [
        {"level": "lead_unit", "answer_within": "1h"},
        {"level": "deputy_secretary_general", "answer_within": "1h"},
    ],
}
ACTION = re.compile(r"办理：(http://\S+/a/[A-Za-z0-9_-]+)")
QIAN_QI = "13800000005"  # qian.qi, who stands in for zhao.liu, the deputy secretary-general
ZHANG_SAN = "13800000001"  # zhang.san, the head of 区司法局, the lead unit


@dataclass
class Linked:
    api: Api
    wecom: WebhookReceiver
    hook: WebhookReceiver

    async def wecom_text(self, mobile: str, *fragments: str) -> str:
        """The WeCom robot's text @-mentioning `mobile` that says every fragment."""
        for _ in range(300):
            for payload in self.wecom.received:
                text = payload["text"]
                said = text["content"]
                if mobile in text["mentioned_mobile_list"] and all(f in said for f in fragments):
                    return str(said)
            await asyncio.sleep(0.1)
        raise AssertionError(f"no WeCom text to {mobile} saying {fragments}")

    async def hooked(self, task_id: str, kind: str, level: int) -> list[dict[str, Any]]:
        """The webhook's payloads of this kind and level, once there are some."""
        for _ in range(300):
            found = [
                p for p in self.hook.for_task(task_id) if (p["kind"], p["level"]) == (kind, level)
            ]
            if found:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {kind} notice of level {level} reached the webhook")


@pytest.fixture
async def linked(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, pg_url: str, people: store.Directory
) -> AsyncIterator[Linked]:
    wecom, hook = WebhookReceiver(), WebhookReceiver()
    wecom.reply = b'{"errcode": 0, "errmsg": "ok"}'
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    task_queue = f"tq-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue, http_public_url=base, wecom_url=wecom.url, webhook_url=hook.url
    )

    async def same_client() -> Client:
        return dev_env.client

    with wecom, hook:
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(build_worker(dev_env.client, pool, settings))
            app = create_app(HttpSettings(), same_client, pg_url, task_queue)
            await stack.enter_async_context(beside(app, "127.0.0.1", port))
            yield Linked(Api(base, pool, dev_env.client, {}), wecom, hook)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for the browser test (make test installs it)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        yield browser
        await browser.close()


async def _level(api: Api, task_id: str, level: int) -> None:
    for _ in range(300):
        state = await api.state(task_id)
        if state.escalation_level == level and not state.unrecorded:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{task_id} did not reach level {level}")


async def _held(api: Api, task_id: str, level: int) -> None:
    for _ in range(300):
        state = await api.state(task_id)
        if (state.escalation_level, state.held_at_level) == (level, level):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{task_id} did not hold level {level}")


async def _form(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """What the page's form carries: its CSRF token (the client keeps the cookie)."""
    page = await http.get(url)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return {"csrf": found.group(1)}


async def test_the_deputy_acknowledges_from_the_escalation_notices_link(
    linked: Linked, browser: Browser, pool: asyncpg.Pool
) -> None:
    api = linked.api
    task_id = await api.start(policy=CLIMB)
    said = await linked.wecom_text(QIAN_QI, task_id, "现升级至副秘书长（第 2 级）", "办理：")
    found = ACTION.search(said)
    assert found is not None, said
    url = found.group(1)
    assert url.startswith(f"{api.url}/a/")
    token = url.rsplit("/", 1)[1]
    # The webhook's JSON for the same notice carries the same link as `action_url`.
    [hooked] = await linked.hooked(task_id, "escalation", 2)
    assert hooked["action_url"] == url and hooked["person"]["id"] == "qian.qi"
    # Copies ask nothing of their readers: no link.
    copies = await linked.hooked(task_id, "copy", 2)
    assert copies and all(p["action_url"] is None and "办理：" not in p["text"] for p in copies)
    # Only the token's hash is kept: not in the link tables, not in the outbox.
    kept = await pool.fetch(
        "SELECT body FROM notifications WHERE task_id = $1 AND body LIKE '%/a/%'", task_id
    )
    assert kept and all(token not in r["body"] and "/a/***" in r["body"] for r in kept)
    row = await pool.fetchrow(
        "SELECT l.*, t.hash FROM action_links l JOIN action_link_tokens t ON t.link_id = l.id "
        "WHERE t.hash = $1",
        links.digest(token),
    )
    assert row is not None and token.encode() not in bytes(row["hash"])
    assert (row["person_id"], row["unit"], row["role"], row["stand_in_for"], row["actions"]) == (
        "qian.qi",
        "区司法局",
        "deputy_secretary_general",
        "zhao.liu",
        ["ack"],
    )
    await _level(api, task_id, 2)
    before = await api.ledger(task_id)

    page = await browser.new_page(viewport=PHONE, device_scale_factor=2)
    opened = await page.goto(url)
    assert opened is not None and opened.status == 200
    shown = await page.inner_text("body")
    for words in ("督办升级", "完善行政执法协调机制", task_id, "区司法局签收", "逾期"):
        assert words in shown, words
    assert "第 2 级（副秘书长）" in shown
    assert "钱七（分管区司法局的副秘书长；缺位递补，代赵六）" in shown
    assert "办理期限" in shown and "请于 " in shown
    assert re.findall(r"[A-Za-z]{2,}", shown.replace(task_id, "")) == []  # Chinese only
    buttons = page.get_by_role("button")
    assert await buttons.all_inner_texts() == ["我已知悉并督办"]
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / "action-link.png"), full_page=True)

    await page.get_by_role("button", name="我已知悉并督办").click()
    await page.get_by_text("办理成功", exact=True).wait_for()
    assert "钱七已确认：我已知悉并督办" in await page.inner_text("body")
    await page.screenshot(path=str(SHOTS / "action-link-done.png"), full_page=True)

    await _held(api, task_id, 2)  # the level is held
    rows = await api.ledger(task_id)
    [acked] = [r for r in rows if r["kind"] == "acknowledged"]
    assert acked == {
        **acked,
        "actor": "qian.qi",
        "role": "deputy_secretary_general",
        "unit": "区司法局",
        "via": "link",
        "stand_in_for": "zhao.liu",
    }
    assert rows[: len(before)] == before and "held" in [r["kind"] for r in rows[len(before) :]]
    used = await pool.fetchrow(
        "SELECT used_at, used_action FROM action_links WHERE id = $1", row["id"]
    )
    assert used is not None and used["used_at"] is not None and used["used_action"] == "ack"

    # The same link again: 已使用, 410, and nothing changes, by the page or by its form.
    again = await page.goto(url)
    assert again is not None and again.status == 410
    assert "链接已使用" in await page.inner_text("body")
    assert await page.get_by_role("button").count() == 0
    async with httpx.AsyncClient() as http:
        posted = await http.post(url, data={"action": "ack", "csrf": "x"})
        assert posted.status_code == 410 and "链接已使用" in posted.text
    assert await api.ledger(task_id) == rows

    # A tampered token: 链接无效, 404.
    for bad in (changed(token), token[:20], "x" * 43):
        gone = await page.goto(f"{api.url}/a/{bad}")
        assert gone is not None and gone.status == 404
        assert "链接无效" in await page.inner_text("body")

    # A link past its expiry: 已过期, 410, and its form changes nothing.
    stale = secrets.token_urlsafe(32)
    async with pool.acquire() as conn, conn.transaction():
        link_id = await conn.fetchval(
            "INSERT INTO action_links (task_id, seq, person_id, kind, actions, unit, role, "
            "facts, expires_at) VALUES ($1, 999, 'sun.ba', 'escalation', '{ack}', '区司法局', "
            "'principal_leader', '{}', now() - interval '1 minute') RETURNING id",
            task_id,
        )
        await conn.execute(
            "INSERT INTO action_link_tokens (hash, link_id) VALUES ($1, $2)",
            links.digest(stale),
            link_id,
        )
    expired = await page.goto(f"{api.url}/a/{stale}")
    assert expired is not None and expired.status == 410
    assert "链接已过期" in await page.inner_text("body")
    async with httpx.AsyncClient() as http:
        posted = await http.post(f"{api.url}/a/{stale}", data={"action": "ack"})
        assert posted.status_code == 410 and "链接已过期" in posted.text
    assert await api.ledger(task_id) == rows
    await page.close()


async def test_a_refusal_leaves_the_link_usable_and_a_forged_form_changes_nothing(
    linked: Linked, pool: asyncpg.Pool
) -> None:
    api = linked.api
    task_id = await api.start(policy=LEVEL_ONE)
    said = await linked.wecom_text(ZHANG_SAN, task_id, "现升级至牵头单位主要负责人", "办理：")
    found = ACTION.search(said)
    assert found is not None, said
    url = found.group(1)
    await _level(api, task_id, 1)
    link = await links.find(pool, url.rsplit("/", 1)[1])
    assert link is not None and link.actions == ("receive", "ack")
    assert (link.person_id, link.unit, link.role) == ("zhang.san", "区司法局", "unit_head")
    before = await api.ledger(task_id)

    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200
        assert "签收" in page.text and "我已知悉并督办" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "same-origin"
        form = await _form(http, url)
        # A form from another site, or one without the page's token: refused, unchanged.
        foreign = await http.post(
            url, data={**form, "action": "receive"}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403 and "无法确认请求来源" in foreign.text
        forged = await http.post(url, data={"csrf": "guess", "action": "receive"})
        assert forged.status_code == 403
    async with httpx.AsyncClient() as stranger:  # no cookie from the page
        blind = await stranger.post(url, data={**form, "action": "receive"})
        assert blind.status_code == 403
    async with httpx.AsyncClient() as http:
        form = await _form(http, url)
        # An action the link does not allow.
        other = await http.post(url, data={**form, "action": "withdraw", "text": "不办了"})
        assert other.status_code == 400 and "本链接不能办理此事项" in other.text
        assert await api.ledger(task_id) == before
        assert (await api.state(task_id)).stage == "assigned"

        # The lead unit's clerk signs through the API; the head's link then offers a
        # receipt the task refuses: the task's reason, in Chinese, and the link stays.
        signed = await api.call("POST", f"/api/tasks/{task_id}/receive", "chen.yi")
        assert signed.status_code == 200
        after = await api.ledger(task_id)
        refused = await http.post(url, data={**form, "action": "receive"})
        assert refused.status_code == 409, refused.text
        said = f"未能办理：任务 {task_id} 处于“已签收”阶段；签收应在“待签收”阶段进行。"
        assert said in refused.text
        assert not re.findall(r">[^<]*[A-Za-z]{3,}[^<]*<", _visible(refused.text, task_id))
        unclaimed = await links.find(pool, url.rsplit("/", 1)[1])
        assert unclaimed is not None and unclaimed.used_at is None
        # Acknowledging is no longer theirs either: the climb settled with the receipt.
        late = await http.post(url, data={**form, "action": "ack"})
        assert late.status_code == 403 and f"任务 {task_id} 未升级督办，无需确认。" in late.text
        assert await api.ledger(task_id) == after
        reopened = await http.get(url)
        assert reopened.status_code == 200  # still usable until it expires


def _visible(html: str, task_id: str) -> str:
    """The page's text between tags, without its head (styles) and the task's id."""
    body = html.split("<body>", 1)[1]
    return re.sub(r"<(input|textarea|form)[^>]*>", "", body).replace(task_id, "")


async def test_a_link_expires_with_its_window(linked: Linked, pool: asyncpg.Pool) -> None:
    """Made for the level's answer window: it ends with it, and at the latest in 7 days."""
    api = linked.api
    task_id = await api.start(policy=LEVEL_ONE)
    said = await linked.wecom_text(ZHANG_SAN, task_id, "现升级至牵头单位主要负责人", "办理：")
    found = ACTION.search(said)
    assert found is not None
    link = await links.find(pool, found.group(1).rsplit("/", 1)[1])
    assert link is not None
    state = await api.state(task_id)
    assert link.expires_at == state.level_deadline
    assert link.expires_at <= datetime.now(UTC) + timedelta(days=7)
    await pool.execute(
        "UPDATE action_links SET expires_at = now() - interval '1 second' WHERE id = $1", link.id
    )
    async with httpx.AsyncClient() as http:
        page = await http.get(found.group(1))
    assert page.status_code == 410 and "链接已过期" in page.text
