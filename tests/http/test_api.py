"""The API through the real stack: who may do what (§3), what each answer says (§4), and
that nothing changes on a refusal."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.service import RPCError

from activities import directory as store
from activities import identity
from starter.directoryfile import add_leave
from tests.http.conftest import FAST, Api, task_fields


def one_line_error(answer: httpx.Response, status: int, *fragments: str) -> str:
    assert answer.status_code == status, (answer.status_code, answer.text)
    body = answer.json()
    assert list(body) == ["error"] and "\n" not in body["error"], body
    for fragment in fragments:
        assert fragment in body["error"], body
    reason: str = body["error"]
    return reason


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.call("GET", "/healthz")).json() == {"status": "ok"}
    ready = await api.call("GET", "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "temporal": "ok", "postgresql": "ok"}
    docs = await api.call("GET", "/openapi.json")
    assert "/api/tasks/{task_id}/{word}" in docs.json()["paths"]


async def test_credentials(api: Api, people: store.Directory) -> None:
    task_id = await api.start()
    path = f"/api/tasks/{task_id}"
    nothing = await api.call("GET", path)
    one_line_error(nothing, 401, "no credential")
    assert nothing.headers["www-authenticate"].startswith("Bearer")
    basic = await api.call("GET", path, headers={"Authorization": "Basic Y2hlbi55aTp4"})
    one_line_error(basic, 401, "Bearer")
    good = await api.token("chen.yi")
    token_id = good.split("_")[1]
    forged = f"dbn_{token_id}_{'x' * 43}"
    for token, reason in (
        ("dbn_00000000_nothing", "unknown token"),
        (forged, "unknown token"),  # a real id with the wrong secret
        ("abc.def", "unknown token"),  # not a duban token; no single sign-on configured
    ):
        answer = await api.call("GET", path, headers={"Authorization": f"Bearer {token}"})
        one_line_error(answer, 401, reason)
    ok = await api.call("GET", path, headers={"Authorization": f"Bearer {good}"})
    assert ok.status_code == 200 and ok.json()["id"] == task_id

    expired = await api.token("chen.yi", days=1, now=datetime.now(UTC) - timedelta(days=2))
    answer = await api.call("GET", path, headers={"Authorization": f"Bearer {expired}"})
    one_line_error(answer, 401, "is expired")

    assert await identity.revoke(api.pool, token_id, datetime.now(UTC)) is not None
    answer = await api.call("GET", path, headers={"Authorization": f"Bearer {good}"})
    one_line_error(answer, 401, f"token {token_id} is revoked")

    gone = await api.token("nobody.here")  # a token of someone not in the directory
    answer = await api.call("GET", path, headers={"Authorization": f"Bearer {gone}"})
    one_line_error(answer, 401, "nobody.here is not in the directory")
    # The secret is never stored: only its hash and the lookup id are.
    row = await api.pool.fetchrow("SELECT * FROM api_tokens WHERE id = $1", token_id)
    assert row is not None and good.split("_", 2)[2].encode() not in bytes(row["secret_hash"])
    assert good not in str(dict(row))


async def test_the_lead_units_clerk_signs_and_the_ledger_names_them(api: Api) -> None:
    task_id = await api.start()
    answer = await api.call("POST", f"/api/tasks/{task_id}/receive", "chen.yi", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stage"] == "received"
    seq = answer.json()["seq"]
    rows = await api.ledger(task_id)
    received = next(r for r in rows if r["seq"] == seq)
    assert received == {
        "seq": seq,
        "kind": "received",
        "unit": "区司法局",
        "actor": "chen.yi",
        "role": "member",
        "via": "api",
        "stand_in_for": None,
    }
    history = await api.call("GET", f"/api/tasks/{task_id}/history", "zhang.san")
    assert history.status_code == 200
    mine = [e for e in history.json()["events"] if e["seq"] == seq]
    assert mine[0]["actor"] == "chen.yi" and mine[0]["via"] == "api"
    # The head of the lead unit deploys; the answer is the event and the stage.
    deployed = await api.call("POST", f"/api/tasks/{task_id}/deploy", "zhang.san")
    assert deployed.status_code == 200 and deployed.json()["stage"] == "deployed"
    assert deployed.json()["seq"] > seq
    row = await api.row(task_id, deployed)
    assert (row["kind"], row["actor"], row["role"]) == ("deployed", "zhang.san", "unit_head")


async def test_another_units_clerk_is_refused_and_nothing_changes(api: Api) -> None:
    task_id = await api.start()
    before = await api.ledger(task_id)
    answer = await api.call("POST", f"/api/tasks/{task_id}/deploy", "lin.er")
    reason = one_line_error(answer, 403)
    assert reason == (
        f"lin.er无权报送部署情况：任务 {task_id} 只有区司法局主要负责人或经办人可以报送部署情况"
    )
    for word, person, doing in (
        ("verify", "chen.yi", "核实销号"),
        ("withdraw", "zhang.san", "撤回任务"),
        ("report", "lin.er", "报送报告"),
    ):
        body = {"text": "done", "kind": "plan"} if word == "report" else {"text": "x"}
        refused = await api.call("POST", f"/api/tasks/{task_id}/{word}", person, json=body)
        one_line_error(refused, 403, f"{person}无权{doing}：任务 {task_id} 只有")
    assert await api.ledger(task_id) == before
    assert (await api.state(task_id)).stage == "assigned"


async def test_a_forged_unit_in_the_body_changes_nothing(api: Api) -> None:
    task_id = await api.start()
    before = await api.ledger(task_id)
    for person, body in (
        ("lin.er", {"unit": "区司法局"}),  # a co-unit's clerk posing as the lead unit
        ("chen.yi", {"unit": "区财政局", "text": ""}),
        ("lin.er", {"by": "zhang.san"}),
        ("lin.er", {"actor": {"person": "zhang.san", "role": "unit_head"}}),
    ):
        answer = await api.call("POST", f"/api/tasks/{task_id}/receive", person, json=body)
        field = next(iter(body))
        one_line_error(answer, 422, f"{field}: Extra inputs are not permitted")
    assert await api.ledger(task_id) == before
    state = await api.state(task_id)
    assert state.stage == "assigned" and state.co_received == []


async def test_co_units_sign_and_contribute_for_themselves(api: Api) -> None:
    task_id = await api.start()
    signed = await api.call("POST", f"/api/tasks/{task_id}/receive", "lin.er")
    assert signed.status_code == 200 and signed.json()["stage"] == "assigned"
    row = await api.row(task_id, signed)
    assert (row["kind"], row["unit"], row["actor"]) == ("co_received", "区财政局", "lin.er")
    text = {"text": "提供经费测算"}
    again = await api.call("POST", f"/api/tasks/{task_id}/receive", "li.si")
    one_line_error(again, 409, f"区财政局已签收任务 {task_id}，无需重复签收")
    given = await api.call("POST", f"/api/tasks/{task_id}/contribute", "li.si", json=text)
    assert given.status_code == 200, given.text
    refused = await api.call("POST", f"/api/tasks/{task_id}/contribute", "chen.yi", json=text)
    one_line_error(refused, 403, "chen.yi无权报送协办情况")


async def test_the_assigning_unit_and_the_tasks_own_refusals(api: Api) -> None:
    task_id = await api.start()
    before = await api.ledger(task_id)
    early = await api.call("POST", f"/api/tasks/{task_id}/verify", "he.shan")
    reason = one_line_error(early, 409)
    assert reason == f"任务 {task_id} 处于“待签收”阶段；核实销号应在“待核实”阶段进行"
    empty = await api.call("POST", f"/api/tasks/{task_id}/withdraw", "he.shan", json={})
    one_line_error(empty, 409, "撤回说明内容为空：请写明撤回理由")
    assert await api.ledger(task_id) == before
    raised = await api.call(
        "POST", f"/api/tasks/{task_id}/raise-urgency", "he.shan", json={"urgency": "urgent"}
    )
    assert raised.status_code == 200, raised.text
    bad = await api.call(
        "POST", f"/api/tasks/{task_id}/raise-urgency", "wu.shi", json={"urgency": "extreme"}
    )
    one_line_error(bad, 422, "urgency:")
    done = await api.call(
        "POST", f"/api/tasks/{task_id}/withdraw", "wu.shi", json={"text": "并入年度计划"}
    )
    assert done.status_code == 200 and done.json()["stage"] == "withdrawn"
    row = await api.row(task_id, done)
    assert (row["kind"], row["actor"], row["role"]) == (
        "withdrawn",
        "wu.shi",
        "office",
    )
    closed = await api.call("POST", f"/api/tasks/{task_id}/receive", "chen.yi")
    one_line_error(closed, 409, "withdrawn")


async def test_one_post_retried_with_its_key_leaves_one_ledger_row(api: Api) -> None:
    task_id = await api.start()
    key = {"Idempotency-Key": "sign-2026-11-23-001"}
    path = f"/api/tasks/{task_id}/receive"
    first = await api.call("POST", path, "chen.yi", headers=key)
    again = await api.call("POST", path, "chen.yi", headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    rows = await api.ledger(task_id)
    assert [r["kind"] for r in rows].count("received") == 1
    assert not [r for r in rows if r["kind"] == "refused"]
    # Without the key, the same message again is a new message, and the task refuses it.
    third = await api.call("POST", path, "chen.yi")
    one_line_error(third, 409, "处于“已签收”阶段；签收应在“待签收”阶段进行")


async def test_a_task_one_may_not_see_is_404_like_one_that_does_not_exist(api: Api) -> None:
    task_id = await api.start()
    missing = await api.call("GET", "/api/tasks/T-no-such-task", "ma.yi")
    one_line_error(missing, 404, "no task T-no-such-task")
    for method, path in (
        ("GET", f"/api/tasks/{task_id}"),
        ("GET", f"/api/tasks/{task_id}/history"),
        ("POST", f"/api/tasks/{task_id}/receive"),
    ):
        answer = await api.call(method, path, "ma.yi")
        one_line_error(answer, 404, f"no task {task_id}")
    assert [r["kind"] for r in await api.ledger(task_id)].count("received") == 0
    # The list shows it to those on it, and not to ma.yi.
    seen = await _listed(api, "chen.yi", task_id)
    assert task_id in seen
    for person in ("lin.er", "zhao.liu", "qian.qi", "sun.ba", "wu.shi"):
        assert task_id in await _listed(api, person, task_id), person
    assert task_id not in await _listed(api, "ma.yi", None)


async def _listed(api: Api, person: str, wait_for: str | None) -> list[str]:
    """The ids `person` is shown; visibility catches up with a start within moments."""
    for _ in range(100):
        answer = await api.call("GET", "/api/tasks", person, params={"stage": "assigned"})
        assert answer.status_code == 200, answer.text
        ids = [t["id"] for t in answer.json()["tasks"]]
        if wait_for is None or wait_for in ids:
            return ids
        await asyncio.sleep(0.2)
    return ids


async def test_start_a_task(api: Api) -> None:
    fields = task_fields()
    created = await api.call("POST", "/api/tasks", "he.shan", json=fields)
    assert created.status_code == 201 and created.json() == {"id": fields["id"]}
    twice = await api.call("POST", "/api/tasks", "wu.shi", json=fields)
    one_line_error(twice, 409, f"task {fields['id']} already exists")
    missing = {k: v for k, v in task_fields().items() if k != "title"}
    answer = await api.call("POST", "/api/tasks", "he.shan", json=missing)
    one_line_error(answer, 422, "title: missing")
    two_leads = task_fields(lead_unit=["区司法局", "区财政局"])
    answer = await api.call("POST", "/api/tasks", "he.shan", json=two_leads)
    one_line_error(answer, 422, "lead_unit: name exactly one lead unit")
    a_file = task_fields(policy="../../../etc/passwd")
    answer = await api.call("POST", "/api/tasks", "he.shan", json=a_file)
    one_line_error(answer, 422, "policy: unknown built-in policy")
    not_theirs = task_fields()
    answer = await api.call("POST", "/api/tasks", "lin.er", json=not_theirs)
    one_line_error(answer, 403, "lin.er无权以区政府办公室名义交办任务")
    with pytest.raises(RPCError, match="not found"):  # nothing was started
        await api.client.get_workflow_handle(not_theirs["id"]).describe()


async def test_bodies_over_256_kib_are_refused(api: Api) -> None:
    task_id = await api.start()
    before = await api.ledger(task_id)
    big = {"text": "报" * (100 * 1024), "kind": "plan"}  # 300 KiB of UTF-8
    answer = await api.call("POST", f"/api/tasks/{task_id}/report", "chen.yi", json=big)
    one_line_error(answer, 413, "over 256 KiB")

    async def chunks() -> Any:  # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b" " * 8192

    streamed = await api.call(
        "POST",
        f"/api/tasks/{task_id}/receive",
        "chen.yi",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    one_line_error(streamed, 413, "over 256 KiB")
    assert await api.ledger(task_id) == before


async def test_unknown_words_and_malformed_bodies(api: Api) -> None:
    task_id = await api.start()
    answer = await api.call("POST", f"/api/tasks/{task_id}/sign", "chen.yi")
    one_line_error(answer, 404, "no message 'sign'")
    bad_json = await api.call(
        "POST",
        f"/api/tasks/{task_id}/receive",
        "chen.yi",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 422 and "error" in bad_json.json()
    role = await api.call(
        "POST", f"/api/tasks/{task_id}/receive", "chen.yi", json={"role": "office"}
    )
    one_line_error(role, 422, "role: only ack and resolve take a role")
    date_ = await api.call(
        "POST", f"/api/tasks/{task_id}/extend", "chen.yi", json={"until": "soon", "text": "x"}
    )
    one_line_error(date_, 422, "until:")


async def test_one_who_acts_for_several_units_names_one(api: Api, people: store.Directory) -> None:
    """wang.wu heads 区人社局 (a co-unit) and stands in for zhang.san, away today."""
    today = date.today()
    leave = {"person": "zhang.san", "from": today, "to": today + timedelta(days=2)}
    add_leave(people, "leave", {**leave, "stand_in": "wang.wu"})
    await store.replace(api.pool, people)
    task_id = await api.start()
    path = f"/api/tasks/{task_id}/receive"
    ask = await api.call("POST", path, "wang.wu")
    one_line_error(ask, 400, "wang.wu可以代表区人社局或区司法局签收", "请用 ?unit= 指明")
    wrong = await api.call("POST", path, "wang.wu", params={"unit": "区财政局"})
    one_line_error(wrong, 403, "wang.wu无权代表区财政局签收")
    as_lead = await api.call("POST", path, "wang.wu", params={"unit": "区司法局"})
    assert as_lead.status_code == 200 and as_lead.json()["stage"] == "received"
    row = await api.row(task_id, as_lead)
    assert (row["unit"], row["actor"], row["role"], row["stand_in_for"]) == (
        "区司法局",
        "wang.wu",
        "unit_head",
        "zhang.san",
    )
    as_co = await api.call("POST", path, "wang.wu", params={"unit": "区人社局"})
    assert (await api.row(task_id, as_co))["kind"] == "co_received"


async def test_ack_at_each_level_is_its_holders(api: Api) -> None:
    task_id = await api.start(policy=FAST)
    await _level(api, task_id, 1)
    ack = f"/api/tasks/{task_id}/ack"
    for person in ("chen.yi", "qian.qi", "sun.ba", "he.shan"):
        one_line_error(await api.call("POST", ack, person), 403, f"{person}无权确认督办")
    wrong_role = await api.call("POST", ack, "zhang.san", json={"role": "principal_leader"})
    reason = one_line_error(wrong_role, 403)
    assert reason == (
        f"zhang.san只能以牵头单位主要负责人（lead_unit）身份确认督办（任务 {task_id}），"
        "不能以主要领导（principal_leader）身份"
    )
    held = await api.call("POST", ack, "zhang.san", json={"role": "lead_unit"})
    row = await api.row(task_id, held)
    assert (row["kind"], row["actor"], row["role"]) == ("acknowledged", "zhang.san", "unit_head")

    await _level(api, task_id, 2)  # the hold runs out: the deputy secretary-general
    for person in ("zhang.san", "chen.yi", "sun.ba", "wu.shi"):
        one_line_error(await api.call("POST", ack, person), 403, f"{person}无权确认督办")
    # zhao.liu is away: qian.qi stands in, and the ledger says so.
    taken = await api.call("POST", ack, "qian.qi")
    row = await api.row(task_id, taken)
    assert row == {
        **row,
        "kind": "acknowledged",
        "actor": "qian.qi",
        "role": "deputy_secretary_general",
        "stand_in_for": "zhao.liu",
        "via": "api",
    }
    again = await api.call("POST", ack, "qian.qi")
    one_line_error(again, 409, "第 2 级（副秘书长）已确认此次逾期，无需重复确认")


async def _level(api: Api, task_id: str, level: int) -> None:
    for _ in range(200):
        state = await api.state(task_id)
        if state.escalation_level == level and not state.unrecorded:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{task_id} did not reach level {level}")


async def test_a_disagreement_is_resolved_by_the_holder_at_its_level(api: Api) -> None:
    task_id = await api.start()
    raised = await api.call(
        "POST", f"/api/tasks/{task_id}/disagree", "lin.er", json={"text": "经费由谁承担有分歧"}
    )
    assert raised.status_code == 200, raised.text
    resolve = f"/api/tasks/{task_id}/resolve"
    text = {"text": "由区司法局牵头，区财政局保障经费"}
    for person in ("he.shan", "zhou.jiu", "sun.ba", "chen.yi"):
        refused = await api.call("POST", resolve, person, json=text)
        one_line_error(refused, 403, f"{person}无权协调意见分歧", "只有办公室可以协调意见分歧")
    done = await api.call("POST", resolve, "wu.shi", json=text)
    row = await api.row(task_id, done)
    assert (row["kind"], row["actor"], row["role"]) == ("disagreement_resolved", "wu.shi", "office")
    nothing = await api.call("POST", resolve, "wu.shi", json=text)
    one_line_error(nothing, 403, f"任务 {task_id} 没有待协调的意见分歧")


async def test_show_is_what_the_cli_prints(api: Api) -> None:
    task_id = await api.start()
    shown = await api.call("GET", f"/api/tasks/{task_id}", "lin.er")
    assert shown.status_code == 200
    body: dict[str, Any] = shown.json()
    assert body["id"] == task_id and body["stage"] == "assigned"
    assert body["spec"]["lead_unit"] == "区司法局" and body["run_id"]
    assert {"deadlines", "events", "light", "notifications"} <= body.keys()


async def test_difficulties_and_extensions_go_to_their_answerers(api: Api) -> None:
    task_id = await api.start()
    base = f"/api/tasks/{task_id}"
    assert (await api.call("POST", f"{base}/receive", "chen.yi")).status_code == 200
    hard = {"text": "跨部门数据尚未打通"}
    one_line_error(await api.call("POST", f"{base}/difficulty", "lin.er", json=hard), 403)
    raised = await api.call("POST", f"{base}/difficulty", "chen.yi", json=hard)
    assert raised.status_code == 200, raised.text
    answer = {"decision": "continue", "text": "请继续推进"}
    refused = await api.call("POST", f"{base}/answer-difficulty", "zhang.san", json=answer)
    one_line_error(refused, 403, "只有办公室或区政府办公室经办人可以答复执行困难")
    wrong = await api.call(
        "POST", f"{base}/answer-difficulty", "he.shan", json={"decision": "give_up"}
    )
    one_line_error(
        wrong, 409, "继续执行（continue）、暂停执行（suspend）或调整思路（new_approach）"
    )
    answered = await api.call("POST", f"{base}/answer-difficulty", "he.shan", json=answer)
    row = await api.row(task_id, answered)
    assert (row["kind"], row["actor"]) == ("difficulty_answered", "he.shan")
    assert (row["unit"], row["role"]) == ("区政府办公室", "member")

    until = (date.today() + timedelta(days=60)).isoformat()
    asked = await api.call(
        "POST", f"{base}/extend", "chen.yi", json={"until": until, "text": "需待年度预算批复"}
    )
    assert (await api.row(task_id, asked))["kind"] == "extension_requested"
    decide = f"{base}/decide-extension"
    one_line_error(await api.call("POST", decide, "chen.yi", json={"decision": "approve"}), 403)
    approved = await api.call("POST", decide, "wu.shi", json={"decision": "approve"})
    row = await api.row(task_id, approved)
    assert (row["kind"], row["actor"], row["role"]) == ("extension_approved", "wu.shi", "office")
    assert (await api.state(task_id)).extended_until == date.fromisoformat(until)
