"""Urgency shortens the windows, even after assignment; the light tells where a task stands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
)
from workflows.contracts import Stage
from workflows.policy import Policy
from workflows.windows import local

# The hourly policy, with an urgent task's receipt due ten minutes after assignment.
URGENT_10M = Policy.model_validate(
    {**HOURLY.model_dump(), "name": "urgent-10m", "urgent": {"windows": {"receive": "10m"}}}
)


async def test_an_urgent_task_gets_the_urgent_receive_window(world: World) -> None:
    spec = make_spec(policy=URGENT_10M, urgency="urgent")
    handle = await world.start(spec)
    state = await settled(handle, lambda s: s.window is not None)
    assert state.window is not None and state.window.name == "receive"
    assert state.window.deadline - state.window.opened_at == timedelta(minutes=10)
    assert state.window.opened_at == last(state, "assigned").at
    await attribute(world.env.client, handle, "Urgency", "urgent")
    # The timer is the urgent one: eleven minutes in, the receipt is late.
    await world.env.sleep(timedelta(minutes=11))
    state = await at_level(handle, 1)
    assert state.misses == 1 and state.stage == Stage.ASSIGNED
    await finish(handle)


async def test_raising_the_urgency_moves_the_pending_deadline_earlier(world: World) -> None:
    spec = make_spec(policy=URGENT_10M)
    handle = await world.start(spec)
    state = await settled(handle, lambda s: s.window is not None)
    assert state.window is not None
    opened, old = state.window.opened_at, state.window.deadline
    assert old - opened == timedelta(hours=1)  # normal: the policy's own receive window

    assert "只有区政府办公室可以提升紧急程度" in await refused(
        handle, "raise_urgency", msg(unit=LEAD, urgency="urgent")
    )
    assert "请注明紧急程度：重要（important）或紧急（urgent）" in await refused(
        handle, "raise_urgency", msg(unit=OFFICE)
    )
    assert "紧急程度已是“一般”，只能提升" in await refused(
        handle, "raise_urgency", msg(unit=OFFICE, urgency="normal")
    )

    # Important changes no window of this policy: the urgency rises, the deadline stays.
    replans = state.replans
    await send(handle, "raise_urgency", msg(unit=OFFICE, by="李四", urgency="important"))
    state = await settled(handle, lambda s: s.replans > replans)
    assert state.current_urgency == "important"
    assert state.window is not None and state.window.deadline == old
    assert "replanned" not in kinds(state)
    assert "紧急程度已是“重要”，只能提升" in await refused(
        handle, "raise_urgency", msg(unit=OFFICE, urgency="important")
    )

    await send(handle, "raise_urgency", msg(unit=OFFICE, by="李四", urgency="urgent"))
    state = await settled(handle, lambda s: "replanned" in kinds(s))
    new = opened + timedelta(minutes=10)
    assert state.current_urgency == "urgent"
    assert state.window is not None and state.window.deadline == new
    raised = last(state, "urgency_raised")
    assert (raised.unit, raised.by, raised.detail) == (OFFICE, "李四", "重要 → 紧急")
    replanned = last(state, "replanned")
    assert replanned.seq > raised.seq and replanned.deadline == new
    assert f"{local(old)} → {local(new)}" in replanned.detail
    assert "紧急程度提升为紧急" in replanned.detail
    await attribute(world.env.client, handle, "Urgency", "urgent")

    for lower in ("urgent", "important"):
        reason = await refused(handle, "raise_urgency", msg(unit=OFFICE, urgency=lower))
        assert "紧急程度已是“紧急”，只能提升" in reason
    # The running timer follows the new deadline: eleven minutes in, the receipt is late.
    await world.env.sleep(timedelta(minutes=11))
    state = await at_level(handle, 1)
    assert [e.detail for e in state.events if e.kind == "missed"] == ["签收已逾期"]
    await finish(handle)


async def test_the_light_goes_yellow_red_and_green_again(world: World) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    state = await settled(handle, lambda s: s.window is not None)
    assert state.window is not None
    assert state.window.warn_at == state.window.deadline - timedelta(minutes=30)
    assert state.light(await world.env.get_current_time()) == "green"
    await attribute(world.env.client, handle, "Light", "green")

    # 35 minutes into a one-hour window: inside the 30-minute warning margin.
    await world.env.sleep(timedelta(minutes=35))
    state = await settled(handle, lambda s: "warned" in kinds(s))
    assert state.escalation_level == 0 and state.misses == 0
    assert state.light(await world.env.get_current_time()) == "yellow"
    await attribute(world.env.client, handle, "Light", "yellow")
    warned = last(state, "warned")
    assert warned.unit == LEAD and warned.deadline == state.window.deadline  # type: ignore[union-attr]
    warnings = await eventually(lambda: _notices(world, spec.id, "warning", 1))
    assert [(p["recipient_role"], p["unit"], p["level"]) for p in warnings] == [
        ("lead_unit", LEAD, 0)
    ]

    # The window closes unanswered: red, and the warning is not repeated.
    await world.env.sleep(timedelta(minutes=30))
    state = await at_level(handle, 1)
    assert state.light(await world.env.get_current_time()) == "red"
    await attribute(world.env.client, handle, "Light", "red")
    await eventually(lambda: _notices(world, spec.id, "escalation", 1))
    assert kinds(state).count("warned") == 1
    assert len(await _notices(world, spec.id, "warning", 1)) == 1

    # The late receipt stops the climb and opens a fresh deploy window: green again.
    await send(handle, "receive", msg())
    state = await settled(
        handle,
        lambda s: s.escalation_level == 0 and s.window is not None and s.window.name == "deploy",
    )
    assert state.light(await world.env.get_current_time()) == "green"
    await attribute(world.env.client, handle, "Light", "green")
    assert state.misses == 1
    await finish(handle)


async def _notices(world: World, task_id: str, kind: str, n: int) -> list[dict[str, Any]]:
    got = [p for p in world.webhook.for_task(task_id) if p["kind"] == kind]
    return got if len(got) >= n else []
