"""A difficulty in carrying out the task (S0 §3): reported in time, answered by the office
with continue, suspend or a new approach; an unanswered one climbs the office's own ladder."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

from tests.policies import HOURLY
from tests.workflows.conftest import World
from tests.workflows.harness import (
    LEAD,
    OFFICE,
    at_level,
    attribute,
    eventually,
    finish,
    kinds,
    last,
    make_spec,
    msg,
    refused,
    send,
    settled,
    status,
)
from workflows.contracts import Stage, TaskState
from workflows.policy import Policy
from workflows.task import TaskWorkflow
from workflows.windows import local

# The hourly policy with the difficulty windows in plain hours instead of working days.
FAST = Policy.model_validate(
    {
        **HOURLY.model_dump(),
        "name": "hourly-difficulty",
        "windows": {
            **HOURLY.windows.model_dump(),
            "difficulty": "2h",
            "difficulty_answer": "1h",
            "extension_answer": "1h",
        },
    }
)
CO_UNIT = "区财政局"


async def received(world: World) -> tuple[WorkflowHandle[Any, Any], TaskState]:
    """A task on the fast policy, signed for, its deploy window and difficulty window open."""
    handle = await world.start(make_spec(policy=FAST))
    await send(handle, "receive", msg())
    state = await settled(handle, lambda s: s.difficulty_until is not None)
    return handle, state


async def test_the_office_answers_a_difficulty_with_continue(world: World) -> None:
    spec = make_spec(policy=FAST)
    handle = await world.start(spec)
    reason = await refused(handle, "difficulty", msg(text="经费不足"))
    assert "执行困难应在“已签收”“已部署”“已报计划”或“推进中”阶段报告" in reason
    await send(handle, "receive", msg())
    state = await settled(handle, lambda s: s.difficulty_until is not None)
    assert state.difficulty_until == last(state, "received").at + timedelta(hours=2)

    assert "执行困难内容为空" in await refused(handle, "difficulty", msg(text=" "))
    assert "只有区司法局可以报告执行困难" in await refused(
        handle, "difficulty", msg(unit=CO_UNIT, text="经费不足")
    )
    assert "没有待答复的执行困难" in await refused(
        handle, "answer_difficulty", msg(unit=OFFICE, decision="continue")
    )
    await send(handle, "difficulty", msg(text="经费不足"))
    assert "已有一项执行困难待办公室答复" in await refused(
        handle, "difficulty", msg(text="人手不足")
    )
    state = await settled(handle, lambda s: "matter_opened" in kinds(s))
    [matter] = state.matters
    assert (matter.kind, matter.unit, matter.raised_by, matter.resolved) == (
        "difficulty",
        OFFICE,
        LEAD,
        False,
    )
    assert matter.deadline == matter.opened_at + timedelta(hours=1)  # type: ignore[operator]
    asked = await eventually(lambda: _notices(world, spec.id, "matter", 1))
    assert [(p["recipient_role"], p["unit"]) for p in asked] == [("office", OFFICE)]

    assert "只有区政府办公室可以答复执行困难" in await refused(
        handle, "answer_difficulty", msg(unit=LEAD, decision="continue")
    )
    reason = await refused(handle, "answer_difficulty", msg(unit=OFFICE, decision="bogus"))
    assert "继续执行（continue）、暂停执行（suspend）或调整思路（new_approach）" in reason
    accepted = await send(
        handle, "answer_difficulty", msg(unit=OFFICE, by="李四", decision="continue", text="克服")
    )
    assert accepted.stage == Stage.RECEIVED
    state = await settled(handle, lambda s: "difficulty_answered" in kinds(s))
    [matter] = state.matters
    assert matter.resolved and matter.resolution == "继续执行：克服"
    answered = last(state, "difficulty_answered")
    assert (answered.unit, answered.by) == (OFFICE, "李四")
    assert state.stage == Stage.RECEIVED and state.suspended_at is None
    assert "没有待答复的执行困难" in await refused(
        handle, "answer_difficulty", msg(unit=OFFICE, decision="continue")
    )
    # Answered in time: nothing climbs when the answer window would have closed.
    await world.env.sleep(timedelta(minutes=50))
    state = await settled(handle)
    assert "matter_missed" not in kinds(state)
    await finish(handle)


async def test_suspension_stops_every_clock_and_resume_moves_the_deadlines(
    world: World,
) -> None:
    handle, state = await received(world)
    await world.env.sleep(timedelta(minutes=10))
    await send(handle, "difficulty", msg(text="上位法正在修订"))
    before = await settled(handle, lambda s: "matter_opened" in kinds(s))
    assert before.window is not None and before.window.name == "deploy"
    deadline, warn_at = before.window.deadline, before.window.warn_at

    await send(handle, "answer_difficulty", msg(unit=OFFICE, decision="suspend", text="待修订"))
    state = await settled(handle, lambda s: "suspended" in kinds(s))
    assert state.suspended_at == last(state, "suspended").at
    assert state.next_deadline is None
    assert state.light(await world.env.get_current_time()) == "grey"
    await attribute(world.env.client, handle, "Light", "grey")
    for action, fields in [
        ("deploy", {}),
        ("report", {"kind": "progress", "text": "进展"}),
        ("difficulty", {"text": "又有困难"}),
    ]:
        assert "已由办公室暂停执行，恢复执行前不能" in await refused(handle, action, msg(**fields))

    # Well past the deploy window, its warning margin and every answer window: nothing.
    await world.env.sleep(timedelta(hours=10))
    state = await settled(handle)
    assert state.escalation_level == 0 and state.misses == 0
    assert not {"missed", "warned", "escalated", "matter_missed"} & set(kinds(state))
    assert state.light(await world.env.get_current_time()) == "grey"
    assert {p["kind"] for p in world.webhook.for_task(state.spec.id)} <= {"matter", "received"}

    assert "只有区政府办公室可以恢复执行" in await refused(handle, "resume", msg(unit=LEAD))
    await send(handle, "resume", msg(unit=OFFICE, by="李四", text="修订完成"))
    state = await settled(handle, lambda s: "resumed" in kinds(s))
    paused = last(state, "resumed").at - last(state, "suspended").at
    assert paused >= timedelta(hours=10)
    assert state.suspended_at is None
    assert state.window is not None and state.window.deadline == deadline + paused
    assert state.window.warn_at == warn_at + paused  # type: ignore[operator]
    assert last(state, "resumed").deadline == deadline + paused
    assert state.light(await world.env.get_current_time()) == "green"
    await attribute(world.env.client, handle, "Light", "green")
    assert "未暂停执行，无需恢复" in await refused(handle, "resume", msg(unit=OFFICE))

    # The deploy window had 50 minutes left when it was suspended; it has them again.
    await world.env.sleep(timedelta(minutes=45))
    assert (await settled(handle)).escalation_level == 0
    await world.env.sleep(timedelta(minutes=10))
    state = await at_level(handle, 1)
    assert state.misses == 1
    await finish(handle)


async def test_a_new_approach_reopens_the_plan_window_from_the_answer(world: World) -> None:
    handle, _ = await received(world)
    await send(handle, "deploy", msg())
    await send(handle, "report", msg(kind="plan", text="计划"))
    await world.env.sleep(timedelta(minutes=40))
    await send(handle, "difficulty", msg(text="原方案不可行"))
    await world.env.sleep(timedelta(minutes=20))
    accepted = await send(
        handle, "answer_difficulty", msg(unit=OFFICE, decision="new_approach", text="另行研究")
    )
    assert accepted.stage == Stage.DEPLOYED
    state = await settled(
        handle, lambda s: s.window is not None and s.window.stage == Stage.DEPLOYED
    )
    answer = last(state, "new_approach")
    assert state.stage == Stage.DEPLOYED and answer.unit == OFFICE
    assert state.window is not None and state.window.name == "plan"
    assert state.window.opened_at == answer.at  # counted from the answer, not from receipt
    assert state.window.deadline == answer.at + timedelta(hours=3)
    assert last(state, "received").at < answer.at - timedelta(hours=1)
    assert (await send(handle, "report", msg(kind="plan", text="新计划"))).stage == Stage.PLANNED
    await finish(handle)


async def test_a_difficulty_after_its_window_is_refused(world: World) -> None:
    handle, state = await received(world)
    until = state.difficulty_until
    assert until == last(state, "received").at + timedelta(hours=2)
    await send(handle, "deploy", msg())
    await world.env.sleep(timedelta(hours=3))
    reason = await refused(handle, "difficulty", msg(text="经费不足"))
    assert until is not None and f"报告执行困难的期限已于 {local(until)} 截止" in reason
    state = await settled(handle)
    assert state.matters == [] and "difficulty_reported" not in kinds(state)
    await finish(handle)


async def test_an_unanswered_difficulty_climbs_the_offices_own_ladder(world: World) -> None:
    handle, _ = await received(world)
    spec_id = (await status(handle)).spec.id
    await send(handle, "deploy", msg())  # the plan window (3h from receipt) stays open
    await send(handle, "difficulty", msg(text="经费不足"))
    await world.env.sleep(timedelta(minutes=55))
    state = await settled(handle, lambda s: "matter_opened" in kinds(s))
    assert "matter_missed" not in kinds(state)
    assert state.light(await world.env.get_current_time()) == "green"

    await world.env.sleep(timedelta(minutes=6))
    state = await settled(handle, lambda s: "matter_escalated" in kinds(s))
    missed, escalated = last(state, "matter_missed"), last(state, "matter_escalated")
    assert missed.seq < escalated.seq and missed.unit == OFFICE
    assert (missed.level, escalated.level) == (0, 1)
    [matter] = state.matters
    assert matter.missed and matter.level == 1 and not matter.resolved
    assert matter.deadline == escalated.at + timedelta(hours=1)
    up = await eventually(lambda: _notices(world, spec_id, "matter", 2))
    assert [p["recipient_role"] for p in up] == ["office", "deputy_secretary_general"]
    # The task itself is on time: no window missed, the ladder is the office's own.
    assert state.escalation_level == 0 and state.misses == 0
    assert state.light(await world.env.get_current_time()) == "red"
    await attribute(world.env.client, handle, "Light", "red")

    await send(handle, "answer_difficulty", msg(unit=OFFICE, decision="continue"))
    state = await settled(handle, lambda s: "difficulty_answered" in kinds(s))
    assert state.matters[0].resolved
    assert state.light(await world.env.get_current_time()) == "green"
    await attribute(world.env.client, handle, "Light", "green")
    await finish(handle)


async def _notices(world: World, task_id: str, kind: str, n: int) -> list[dict[str, Any]]:
    got = [p for p in world.webhook.for_task(task_id) if p["kind"] == kind]
    return got if len(got) >= n else []


# ---- regressions: each of these failed before 262ef45 (patches replan-keeps-pause,
# ---- matters-pause, new-approach-clears-extension)


@pytest.mark.parametrize("replan", ["raise_urgency", "calendar_changed"])
async def test_a_replan_after_resume_keeps_the_pause(world: World, replan: str) -> None:
    handle, _ = await received(world)
    await send(handle, "difficulty", msg(text="上位法正在修订"))
    await send(handle, "answer_difficulty", msg(unit=OFFICE, decision="suspend"))
    await world.env.sleep(timedelta(hours=5))
    await send(handle, "resume", msg(unit=OFFICE))
    resumed = await settled(handle, lambda s: "resumed" in kinds(s))
    assert resumed.window is not None
    deadline = resumed.window.deadline  # 5 hours later than before the suspension
    if replan == "raise_urgency":  # the fast policy has no important rules: no window moves
        await send(handle, "raise_urgency", msg(unit=OFFICE, urgency="important"))
    else:
        await handle.signal(TaskWorkflow.calendar_changed, "2027 calendar published")
    await world.env.sleep(timedelta(minutes=1))
    state = await settled(handle, lambda s: s.replans > resumed.replans)
    await finish(handle)
    assert state.window is not None and state.window.deadline == deadline
    assert state.escalation_level == 0 and "missed" not in kinds(state)


async def suspended_with_a_request_for_more_time(
    world: World,
) -> tuple[WorkflowHandle[Any, Any], TaskState]:
    """Signed for, more time asked, then suspended on a difficulty: the request is open."""
    handle, state = await received(world)
    assert state.window is not None
    until = state.window.deadline.date() + timedelta(days=2)
    await send(handle, "request_extension", msg(until=until, text="需要协调"))
    await send(handle, "difficulty", msg(text="上位法正在修订"))
    await send(handle, "answer_difficulty", msg(unit=OFFICE, decision="suspend"))
    state = await settled(handle, lambda s: "suspended" in kinds(s))
    return handle, state


async def test_a_request_for_more_time_stands_still_while_suspended(world: World) -> None:
    handle, state = await suspended_with_a_request_for_more_time(world)
    request = state.open_matter("extension")
    assert request is not None and request.deadline is not None
    answer_by = request.deadline
    await world.env.sleep(timedelta(hours=3))  # three answer windows of an hour each
    during = await settled(handle)
    await send(handle, "resume", msg(unit=OFFICE))
    after = await settled(handle, lambda s: "resumed" in kinds(s))
    paused = last(after, "resumed").at - last(after, "suspended").at
    request = after.open_matter("extension")
    assert "matter_missed" not in kinds(during) and "matter_escalated" not in kinds(during)
    assert request is not None and request.level == 0
    assert request.deadline == answer_by + paused
    # After the resume its clock runs again, from where it stood.
    await world.env.sleep(request.deadline - await world.env.get_current_time())
    await world.env.sleep(timedelta(minutes=1))
    state = await settled(handle, lambda s: "matter_escalated" in kinds(s))
    await finish(handle)
    assert [e.kind for e in state.events if e.kind.startswith("matter_")][-2:] == [
        "matter_missed",
        "matter_escalated",
    ]


async def test_the_approver_may_decide_on_more_time_while_suspended(world: World) -> None:
    handle, _ = await suspended_with_a_request_for_more_time(world)
    await send(handle, "decide_extension", msg(unit=OFFICE, decision="refuse", text="暂不延期"))
    state = await settled(handle, lambda s: "extension_refused" in kinds(s))
    await finish(handle)
    assert state.open_matter("extension") is None and state.suspended_at is not None


async def test_a_new_approach_does_not_inherit_an_earlier_extension(world: World) -> None:
    handle, state = await received(world)
    assert state.window is not None
    until = state.window.deadline.date() + timedelta(days=3)
    await send(handle, "request_extension", msg(until=until, text="需要协调"))
    await send(handle, "decide_extension", msg(unit=OFFICE, decision="approve"))
    await settled(handle, lambda s: "replanned" in kinds(s))
    await send(handle, "difficulty", msg(text="原方案不可行"))
    await send(handle, "answer_difficulty", msg(unit=OFFICE, decision="new_approach"))
    state = await settled(
        handle, lambda s: s.window is not None and s.window.stage == Stage.DEPLOYED
    )
    await finish(handle)
    answer = last(state, "new_approach")
    assert state.window is not None and state.window.opened_at == answer.at
    assert state.window.deadline == answer.at + timedelta(hours=3), state.window.rule


async def test_a_replan_after_resume_keeps_a_matters_pause(world: World) -> None:
    handle, _ = await suspended_with_a_request_for_more_time(world)
    await world.env.sleep(timedelta(hours=5))
    await send(handle, "resume", msg(unit=OFFICE))
    resumed = await settled(handle, lambda s: "resumed" in kinds(s))
    request = resumed.open_matter("extension")
    assert request is not None
    answer_by = request.deadline  # 5 hours later than before the suspension
    await send(handle, "raise_urgency", msg(unit=OFFICE, urgency="important"))
    await world.env.sleep(timedelta(minutes=1))
    state = await settled(handle, lambda s: s.replans > resumed.replans)
    await finish(handle)
    assert "matter_missed" not in kinds(state), kinds(state)[-4:]
    request = state.open_matter("extension")
    assert request is not None and request.deadline == answer_by
