"""A missed window climbs lead unit -> deputy secretary-general -> principal leader."""

from __future__ import annotations

from datetime import timedelta

from tests.peers import WebhookReceiver
from tests.workflows.conftest import World
from tests.workflows.harness import (
    at_level,
    eventually,
    finish,
    make_spec,
    msg,
    send,
    status,
)
from workflows.contracts import Stage


def roles(received: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    """The ladder's notices: not the early warning, not the co-units' copies."""
    return sorted(
        (p["level"], p["kind"], p["recipient_role"])
        for p in received
        if p["kind"] != "warning" and p["recipient_role"] != "co_unit"
    )


async def test_missed_receipt_climbs_every_level_then_reminds(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    await world.env.sleep(timedelta(hours=1, minutes=1))
    state = await at_level(handle, 1)
    assert state.misses == 1 and state.stage == Stage.ASSIGNED
    await eventually(lambda: _count(world.webhook, spec.id, 1))
    assert roles(world.webhook.for_task(spec.id)) == [(1, "escalation", "lead_unit")]

    await world.env.sleep(timedelta(hours=1))
    await at_level(handle, 2)
    await eventually(lambda: _count(world.webhook, spec.id, 3))
    await world.env.sleep(timedelta(hours=1))
    await at_level(handle, 3)
    await eventually(lambda: _count(world.webhook, spec.id, 6))
    assert roles(world.webhook.for_task(spec.id)) == [
        (1, "escalation", "lead_unit"),
        (2, "copy", "lead_unit"),
        (2, "escalation", "deputy_secretary_general"),
        (3, "copy", "deputy_secretary_general"),
        (3, "copy", "lead_unit"),
        (3, "escalation", "principal_leader"),
    ]
    # After the last level the principal leader is reminded at that level's interval.
    await world.env.sleep(timedelta(hours=2))
    await eventually(lambda: _count(world.webhook, spec.id, 7))
    ladder = [p for p in world.webhook.for_task(spec.id) if p["recipient_role"] != "co_unit"]
    assert ladder[-1]["kind"] == "reminder" and ladder[-1]["recipient_role"] == "principal_leader"
    # The lead unit was warned once before the window closed; the co-units were copied on
    # every level the miss climbed to.
    got = world.webhook.for_task(spec.id)
    assert [p["kind"] for p in got].count("warning") == 1
    assert sorted((p["level"], p["unit"]) for p in got if p["recipient_role"] == "co_unit") == [
        (level, unit) for level in (1, 2, 3) for unit in sorted(spec.co_units)
    ]
    assert (await status(handle)).escalation_level == 3

    # The late receipt stops the climb; the misses stay on the record.
    accepted = await send(handle, "receive", msg())
    assert accepted.stage == Stage.RECEIVED
    state = await at_level(handle, 0)
    assert state.misses == 1
    kinds = [e.kind for e in state.events]
    assert kinds.count("escalated") == 3 and kinds.count("reminded") == 1
    await finish(handle)

    rows = await world.pool.fetch(
        "SELECT level, kind FROM escalations WHERE task_id = $1 ORDER BY seq", spec.id
    )
    assert [(r["level"], r["kind"]) for r in rows] == [
        (1, "escalated"),
        (2, "escalated"),
        (3, "escalated"),
        (3, "reminded"),
    ]
    notes = await world.pool.fetch(
        "SELECT status, attempts FROM notifications WHERE task_id = $1", spec.id
    )
    # 14 for the climb, and the lead unit's head told of the late receipt (S2 §5); every
    # one delivered once.
    assert len(notes) == 15 and all(n["status"] == "delivered" for n in notes)
    keys = [p["_idempotency_header"] for p in world.webhook.for_task(spec.id)]
    assert len(keys) == len(set(keys)) == 15  # nothing sent twice


async def test_an_answer_at_level_one_stops_the_climb(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    await send(handle, "receive", msg())
    await world.env.sleep(timedelta(hours=1, minutes=5))  # the deploy window is missed
    await at_level(handle, 1)
    await send(handle, "deploy", msg())
    state = await at_level(handle, 0)
    assert state.stage == Stage.DEPLOYED and state.window and state.window.name == "plan"
    # The plan window (3h from receipt) is still open: no further climb for the deploy miss.
    await world.env.sleep(timedelta(hours=1, minutes=30))
    state = await status(handle)
    assert state.escalation_level == 0 and state.misses == 1
    await eventually(lambda: _count(world.webhook, spec.id, 1))
    assert roles(world.webhook.for_task(spec.id)) == [
        (0, "received", "lead_unit"),  # the head is told the day it is received (S2 §5)
        (1, "escalation", "lead_unit"),
    ]
    await finish(handle)


async def test_an_acknowledgement_holds_the_level_for_one_more_window(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    await world.env.sleep(timedelta(hours=1, minutes=1))
    await at_level(handle, 1)
    await world.env.sleep(timedelta(minutes=30))
    await send(handle, "ack", msg(role="lead_unit", text="已安排专人办理"))
    # Without the acknowledgement level 2 would come 30 minutes from now.
    await world.env.sleep(timedelta(minutes=45))
    state = await at_level(handle, 1)
    assert [e.kind for e in state.events][-2:] == ["acknowledged", "held"]
    # The hold lasts one answer window; then the climb goes on.
    await world.env.sleep(timedelta(minutes=30))
    state = await at_level(handle, 2)
    assert state.misses == 1
    await finish(handle)


async def _count(webhook: WebhookReceiver, task_id: str, n: int) -> bool:
    return len(roles(webhook.for_task(task_id))) >= n
