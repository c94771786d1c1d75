"""More time asked and decided; the co-units sign, contribute and are copied; a disagreement
climbs the coordination ladder until someone at the right level resolves it."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from tests.policies import HOURLY
from tests.workflows.conftest import World
from tests.workflows.harness import (
    LEAD,
    OFFICE,
    at_level,
    eventually,
    finish,
    kinds,
    last,
    make_spec,
    msg,
    refused,
    send,
    settled,
)
from workflows.contracts import Stage
from workflows.policy import Policy
from workflows.windows import office_day

SHANGHAI = timezone(timedelta(hours=8))
CO_A, CO_B = "区财政局", "区人社局"

# The hourly policy with every answer window in plain hours instead of working days.
FAST = Policy.model_validate(
    {
        **HOURLY.model_dump(),
        "name": "hourly-matters",
        "windows": {
            **HOURLY.windows.model_dump(),
            "difficulty": "2h",
            "difficulty_answer": "1h",
            "extension_answer": "1h",
        },
        "coordination": [
            {"level": "office", "answer_within": "1h"},
            {"level": "leader_in_charge", "answer_within": "1h"},
            {"level": "principal_leader", "answer_within": "2h"},
        ],
    }
)


def at_close(day: Any) -> datetime:
    """18:00 in Shanghai on `day`: when a window extended to that date closes."""
    return datetime.combine(day, time(18, 0), SHANGHAI)


async def notices(world: World, task_id: str, n: int, **match: object) -> list[dict[str, Any]]:
    """The task's notices matching every field given, once there are at least `n`."""

    async def check() -> list[dict[str, Any]]:
        got = [
            p for p in world.webhook.for_task(task_id) if all(p[k] == v for k, v in match.items())
        ]
        return got if len(got) >= n else []

    result: list[dict[str, Any]] = await eventually(check)
    return result


# ---- more time ------------------------------------------------------------------------


async def test_an_approved_extension_moves_the_window_and_stops_the_climb(
    world: World,
) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    await send(handle, "receive", msg())
    await world.env.sleep(timedelta(hours=1, minutes=1))  # the deploy window is missed
    state = await at_level(handle, 1)
    assert state.window is not None and state.window.name == "deploy" and state.window.missed
    current = state.window.deadline.date()
    until = current + timedelta(days=2)

    assert "只有区司法局可以申请延期" in await refused(
        handle, "request_extension", msg(unit=CO_A, until=until, text="需要协调")
    )
    assert "延期申请内容为空" in await refused(handle, "request_extension", msg(until=until))
    assert "请注明延期至哪一天（--until YYYY-MM-DD）" in await refused(
        handle, "request_extension", msg(text="需要协调")
    )
    for early in (current, current - timedelta(days=1)):
        reason = await refused(handle, "request_extension", msg(until=early, text="需要协调"))
        assert f"延期日期 {early} 不晚于当前时限 " in reason
    assert "没有待审批的延期申请" in await refused(
        handle, "decide_extension", msg(unit=OFFICE, decision="approve")
    )

    await send(handle, "request_extension", msg(until=until, text="需要协调财政资金"))
    assert "已有一项延期申请待审批" in await refused(
        handle, "request_extension", msg(until=until + timedelta(days=1), text="再延")
    )
    state = await settled(handle, lambda s: "matter_opened" in kinds(s))
    [matter] = state.matters
    assert (matter.kind, matter.unit, matter.until) == ("extension", OFFICE, until)
    assert last(state, "extension_requested").detail == f"申请延期至 {until}：需要协调财政资金"
    asked = await notices(world, spec.id, 1, kind="matter")
    assert [(p["recipient_role"], p["unit"]) for p in asked] == [("office", OFFICE)]

    assert "只有区政府办公室可以审批延期申请" in await refused(
        handle, "decide_extension", msg(unit=LEAD, decision="approve")
    )
    assert "同意（approve）或不同意（refuse）" in await refused(
        handle, "decide_extension", msg(unit=OFFICE, decision="maybe")
    )
    await send(handle, "decide_extension", msg(unit=OFFICE, by="李四", decision="approve"))
    state = await settled(handle, lambda s: "replanned" in kinds(s))
    assert state.window is not None and state.window.name == "deploy"
    assert state.window.deadline == at_close(until)
    assert state.window.deadline.utcoffset() == timedelta(hours=8)
    assert "延期至" in state.window.rule
    approved, replanned = last(state, "extension_approved"), last(state, "replanned")
    assert approved.seq < replanned.seq and approved.detail == f"同意延期至 {until}"
    assert replanned.deadline == at_close(until)
    assert state.matters[0].resolved and state.matters[0].resolution == "同意"
    # The window is open again: the climb stops, and does not go on an hour later.
    assert state.escalation_level == 0 and not state.window.missed and state.misses == 1
    assert state.light(await world.env.get_current_time()) == "green"
    await world.env.sleep(timedelta(hours=2))
    state = await settled(handle)
    assert state.escalation_level == 0 and kinds(state).count("escalated") == 1
    await finish(handle)


async def test_a_refused_extension_keeps_the_deadline(world: World) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    await send(handle, "receive", msg())
    state = await settled(handle, lambda s: s.window is not None and s.window.name == "deploy")
    assert state.window is not None
    deadline = state.window.deadline
    await send(
        handle,
        "request_extension",
        # The office's day: at 01:00 in Beijing the UTC date is still the day before.
        msg(until=office_day(deadline) + timedelta(days=1), text="需要协调"),
    )
    await send(handle, "decide_extension", msg(unit=OFFICE, decision="refuse", text="不予延期"))
    state = await settled(handle, lambda s: "extension_refused" in kinds(s))
    assert state.window is not None and state.window.deadline == deadline
    assert state.matters[0].resolved and state.matters[0].resolution == "不同意：不予延期"
    assert "extension_approved" not in kinds(state) and "replanned" not in kinds(state)
    assert state.extended_until is None
    # The hour still runs out as before.
    await world.env.sleep(timedelta(hours=1, minutes=1))
    state = await at_level(handle, 1)
    assert state.window is not None and state.window.name == "deploy"
    await finish(handle)


# ---- co-units -------------------------------------------------------------------------


async def test_co_units_sign_contribute_and_are_copied_on_escalation(world: World) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    accepted = await send(handle, "receive", msg(unit=CO_A, by="王五"))
    assert accepted.stage == Stage.ASSIGNED
    state = await settled(handle, lambda s: "co_received" in kinds(s))
    assert state.stage == Stage.ASSIGNED and state.co_received == [CO_A]
    assert (last(state, "co_received").unit, last(state, "co_received").by) == (CO_A, "王五")
    assert f"{CO_A}已签收任务 {spec.id}，无需重复签收" in await refused(
        handle, "receive", msg(unit=CO_A)
    )

    assert f"{CO_B}尚未签收任务" in await refused(
        handle, "contribute", msg(unit=CO_B, text="已测算")
    )
    assert "不是任务 " + spec.id + " 的协办单位" in await refused(
        handle, "contribute", msg(unit=LEAD, text="已测算")
    )
    assert "协办情况内容为空" in await refused(handle, "contribute", msg(unit=CO_A))
    await send(handle, "contribute", msg(unit=CO_A, text="已完成经费测算"))
    state = await settled(handle, lambda s: "contributed" in kinds(s))
    assert state.contributions == 1 and state.stage == Stage.ASSIGNED
    [info] = await notices(world, spec.id, 1, kind="contribution")
    assert (info["recipient_role"], info["unit"]) == ("lead_unit", LEAD)
    assert "已完成经费测算" in info["text"] and CO_A in info["text"]

    # The lead unit's receipt still moves the task; its missed deploy copies each co-unit.
    assert (await send(handle, "receive", msg())).stage == Stage.RECEIVED
    await world.env.sleep(timedelta(hours=1, minutes=1))
    await at_level(handle, 1)
    copies = await notices(world, spec.id, 2, recipient_role="co_unit")
    assert sorted((p["unit"], p["kind"], p["level"]) for p in copies) == sorted(
        (unit, "copy", 1) for unit in (CO_A, CO_B)
    )
    await finish(handle)


# ---- disagreements --------------------------------------------------------------------


async def test_the_office_resolves_a_disagreement_in_time(world: World) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    assert "不是任务 " + spec.id + " 的牵头单位或协办单位" in await refused(
        handle, "disagree", msg(unit="区教育局", text="职责不清")
    )
    assert "意见分歧内容为空" in await refused(handle, "disagree", msg(unit=CO_A))
    assert "没有待协调的意见分歧" in await refused(handle, "resolve", msg(unit=OFFICE, text="协调"))
    await send(handle, "disagree", msg(unit=CO_A, text="经费来源有分歧"))
    state = await settled(handle, lambda s: "matter_opened" in kinds(s))
    [matter] = state.matters
    assert (matter.kind, matter.raised_by, matter.unit, matter.level) == (
        "disagreement",
        CO_A,
        OFFICE,
        0,
    )
    assert matter.deadline == matter.opened_at + timedelta(hours=1)  # type: ignore[operator]
    asked = await notices(world, spec.id, 1, kind="matter")
    assert [(p["recipient_role"], p["unit"]) for p in asked] == [("office", OFFICE)]

    assert "只有区政府办公室可以协调" in await refused(
        handle, "resolve", msg(unit=LEAD, text="协调")
    )
    await send(handle, "resolve", msg(unit=OFFICE, by="李四", text="由财政局统筹"))
    state = await settled(handle, lambda s: "disagreement_resolved" in kinds(s))
    assert state.matters[0].resolved and state.matters[0].resolution == "由财政局统筹"
    assert last(state, "disagreement_resolved").detail == "办公室：由财政局统筹"
    await world.env.sleep(timedelta(minutes=50))  # past the office's hour: nothing climbs
    state = await settled(handle)
    assert "matter_missed" not in kinds(state)
    await finish(handle)


async def test_an_unresolved_disagreement_climbs_to_the_leader_in_charge(
    world: World,
) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    await send(handle, "receive", msg())
    await send(handle, "disagree", msg(unit=CO_B, text="职责划分有分歧"))
    await world.env.sleep(timedelta(minutes=55))
    assert "matter_missed" not in kinds(await settled(handle))
    await world.env.sleep(timedelta(minutes=6))
    state = await settled(handle, lambda s: "matter_escalated" in kinds(s))
    [matter] = state.matters
    assert matter.level == 1 and matter.missed and not matter.resolved
    assert last(state, "matter_missed").unit == OFFICE
    up = await notices(world, spec.id, 2, kind="matter")
    assert [p["recipient_role"] for p in up] == ["office", "leader_in_charge"]

    # At the leader in charge's level the office can no longer resolve it, nor the wrong role.
    assert "--role leader_in_charge" in await refused(
        handle, "resolve", msg(unit=OFFICE, text="协调")
    )
    assert "--role leader_in_charge" in await refused(
        handle, "resolve", msg(unit=OFFICE, role="principal_leader", text="协调")
    )
    await send(
        handle, "resolve", msg(unit=LEAD, by="分管副区长", role="leader_in_charge", text="定了")
    )
    state = await settled(handle, lambda s: "disagreement_resolved" in kinds(s))
    assert state.matters[0].resolved
    resolved = last(state, "disagreement_resolved")
    assert (resolved.unit, resolved.detail) == (LEAD, "分管领导：定了")
    await finish(handle)


async def test_a_disagreement_left_unresolved_reaches_the_principal_leader(
    world: World,
) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    await send(handle, "receive", msg())
    await send(handle, "disagree", msg(unit=LEAD, text="牵头职责有分歧"))
    await world.env.sleep(timedelta(hours=1, minutes=1))
    await settled(handle, lambda s: s.matters[0].level == 1)
    await world.env.sleep(timedelta(hours=1))
    state = await settled(handle, lambda s: s.matters[0].level == 2)
    up = await notices(world, spec.id, 3, kind="matter")
    assert [p["recipient_role"] for p in up] == ["office", "leader_in_charge", "principal_leader"]
    assert [e.level for e in state.events if e.kind == "matter_escalated"] == [1, 2]
    assert "--role principal_leader" in await refused(
        handle, "resolve", msg(unit=LEAD, role="leader_in_charge", text="协调")
    )
    await send(handle, "resolve", msg(unit=LEAD, role="principal_leader", text="主要领导定夺"))
    state = await settled(handle, lambda s: "disagreement_resolved" in kinds(s))
    assert last(state, "disagreement_resolved").detail == "主要领导：主要领导定夺"
    await finish(handle)


async def test_a_second_disagreement_waits_for_the_first(world: World) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    await send(handle, "disagree", msg(unit="区财政局", text="经费分担有分歧"))
    reason = await refused(handle, "disagree", msg(unit="区人社局", text="人员安排有分歧"))
    assert "已有一项意见分歧正在协调" in reason
    await send(handle, "resolve", msg(unit=OFFICE, text="按比例分担"))
    await send(handle, "disagree", msg(unit="区人社局", text="人员安排有分歧"))
