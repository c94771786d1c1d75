"""Issue 13 §1 in the workflow: long texts, poison values and policies that shout are
refused or bounded by the task's own rules, whoever sends them."""

from __future__ import annotations

from datetime import date, timedelta

from tests.policies import HOURLY
from tests.workflows.conftest import World
from tests.workflows.harness import (
    OFFICE,
    at_level,
    eventually,
    finish,
    kinds,
    make_spec,
    msg,
    refused,
    send,
    settled,
    status,
)
from workflows.contracts import Stage


async def test_a_text_past_its_bound_or_with_a_nul_is_refused_and_the_task_goes_on(
    world: World,
) -> None:
    handle = await world.start(make_spec())
    await send(handle, "receive", msg())
    await send(handle, "deploy", msg())
    assert "正文 20001 字，最多 20000 字" in await refused(
        handle, "report", msg(kind="plan", text="报" * 20_001)
    )
    assert "正文：不允许控制字符（U+0000）" in await refused(
        handle, "report", msg(kind="plan", text="计划\x00")
    )
    assert "正文：不允许控制字符（U+001B）" in await refused(
        handle, "report", msg(kind="plan", text="\x1b[31m计划")
    )
    assert "不允许文字方向控制字符（U+202E）" in await refused(
        handle, "report", msg(kind="plan", text="计\u202e划")
    )
    assert "单位：全是不可见字符" in await refused(
        handle, "report", msg(unit="\u200b", kind="plan")
    )
    accepted = await send(handle, "report", msg(kind="plan", text="第一行\n第二行"))
    assert accepted.stage == Stage.PLANNED
    await finish(handle)


async def test_an_extension_to_year_9999_is_refused_before_it_can_break_a_replan(
    world: World,
) -> None:
    handle = await world.start(make_spec())
    await send(handle, "receive", msg())
    assert "延期日期 9999-12-31 不在 2004 至 2099 年之间" in await refused(
        handle, "request_extension", msg(until=date(9999, 12, 31), text="需要时间")
    )
    state = await status(handle)
    assert state.matters == [] and "extension_requested" not in kinds(state)
    await finish(handle)


async def test_the_top_is_reminded_less_often_then_the_office_is_told_once(
    world: World,
) -> None:
    policy = HOURLY.model_copy(update={"max_reminders": 2})
    spec = make_spec(policy=policy)
    handle = await world.start(spec)
    for level in (1, 2, 3):  # receive missed after 1h, then each level's 1h answer window
        await world.env.sleep(timedelta(hours=1, minutes=1))
        await at_level(handle, level)
    state = await status(handle)
    top = state.level_deadline
    assert top is not None
    # The principal leader answers within 2h; the first reminder waits 4h, the second 8h.
    await world.env.sleep(timedelta(hours=2, minutes=5))
    state = await settled(handle, lambda s: kinds(s).count("reminded") == 1)
    assert state.level_deadline is not None
    # Reminded when the 2h ran out (at `top`); the next answer is due 4h later, not 2h.
    assert timedelta(hours=4) <= state.level_deadline - top < timedelta(hours=5)
    await world.env.sleep(timedelta(hours=4, minutes=5))
    state = await settled(handle, lambda s: kinds(s).count("reminded") == 2)
    await world.env.sleep(timedelta(hours=8, minutes=5))
    state = await settled(handle, lambda s: "reminders_spent" in kinds(s))
    # Days later: no third reminder, the office told once, the task still red.
    await world.env.sleep(timedelta(days=3))
    state = await status(handle)
    assert kinds(state).count("reminded") == 2 and kinds(state).count("reminders_spent") == 1
    assert state.light(await world.env.get_current_time()) == "red"

    async def office_told() -> bool:
        got = [p for p in world.webhook.for_task(spec.id) if p["kind"] == "stalled"]
        return len(got) == 1 and got[0]["unit"] == OFFICE

    await eventually(office_told)
    # The message still closes the climb.
    await send(handle, "receive", msg())
    assert (await at_level(handle, 0)).escalation_level == 0
    await finish(handle)
