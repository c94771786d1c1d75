"""A task started today keeps the current release's rules: its history carries one release
marker instead of a marker per patch, it asks the calendar locally, and the ledger gets a
step with the deadline it sets in one write."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from tests.workflows.conftest import World
from tests.workflows.harness import (
    LEAD,
    at_level,
    eventually,
    finish,
    make_spec,
    marker_data,
    msg,
    send,
    status,
)
from worker.client import DATA_CONVERTER, codec_of
from workflows import activity_names, releases
from workflows.policy import BUILTIN

CODEC = codec_of(DATA_CONVERTER)


def _patch_markers(events: list[Any]) -> list[str]:
    return [data["id"] for data in marker_data(events, "core_patch", "patch-data")]


def _inputs(events: list[Any], name: str) -> list[Any]:
    """The argument of every activity named `name` the workflow scheduled, in order (its
    payload opened first: the history holds it sealed)."""
    return [
        json.loads(CODEC.open(e.activity_task_scheduled_event_attributes.input.payloads[0]).data)
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == name
    ]


def _writes(events: list[Any]) -> list[Any]:
    """Every ledger write in order, alone or with its notices (release 4)."""
    names = (activity_names.RECORD_EVENTS, activity_names.RECORD_AND_NOTIFY)
    return [
        json.loads(CODEC.open(e.activity_task_scheduled_event_attributes.input.payloads[0]).data)
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name in names
    ]


def _ledger_batches(events: list[Any]) -> list[list[str]]:
    """The event kinds of each ledger write, in order."""
    return [[ev["kind"] for ev in b["events"]] for b in _writes(events)]


def _scheduled(events: list[Any]) -> set[str]:
    return {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }


async def _window_recorded(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """Wait until the window `name` is open and every event so far is in the ledger."""

    async def recorded() -> bool:
        state = await status(handle)
        return state.window is not None and state.window.name == name and not state.unrecorded

    await eventually(recorded)


async def test_a_new_task_carries_its_release_not_a_marker_per_patch(world: World) -> None:
    # The built-in policy counts in working days: every window asks the calendar.
    spec = make_spec(policy=BUILTIN["default"].model_copy(update={"quiet_hours": False}))
    handle = await world.start(spec)
    await _window_recorded(handle, "receive")
    await send(handle, "receive", msg())
    await _window_recorded(handle, "deploy")

    state = await status(handle)
    assert state.rules == releases.CURRENT
    history = await handle.fetch_history()
    assert _patch_markers(list(history.events)) == [f"rules-{releases.CURRENT}"]
    # The calendar is asked as a local activity: no calendar activity on the server.
    assert not any(name.startswith("calendar.") for name in _scheduled(list(history.events)))
    # The start and its deadline in one write; the receipt and the next deadline in one.
    assert _ledger_batches(list(history.events)) == [
        ["assigned", "deadline_set"],
        ["received", "deadline_set"],
    ]
    rows = await world.pool.fetch(
        "SELECT kind FROM task_events WHERE task_id = $1 ORDER BY seq", spec.id
    )
    assert [r["kind"] for r in rows] == ["assigned", "deadline_set", "received", "deadline_set"]


async def test_everyone_an_escalation_tells_is_sent_with_its_ledger_write(world: World) -> None:
    spec = make_spec()  # hourly windows: the receipt is missed after an hour
    handle = await world.start(spec)
    await world.env.sleep(timedelta(hours=1, minutes=1))
    state = await at_level(handle, 1)

    async def all_told() -> bool:
        return len((await status(handle)).notifications) >= 4  # the warning, then three

    await eventually(all_told)
    state = await status(handle)
    history = list((await handle.fetch_history()).events)
    # Every notice went at once with the write of its event: none needed a batch of its own.
    assert _scheduled(history) == {activity_names.RECORD_EVENTS, activity_names.RECORD_AND_NOTIFY}
    batches = _notice_batches(history)
    # The warning on its own; the escalation to the lead unit first, then the co-units.
    assert batches == [
        [("warning", "lead_unit", LEAD)],
        [
            ("escalation", "lead_unit", LEAD),
            ("copy", "co_unit", "区财政局"),
            ("copy", "co_unit", "区人社局"),
        ],
    ]
    assert [(n.role, n.unit, n.status) for n in state.notifications[1:]] == [
        ("lead_unit", LEAD, "delivered"),
        ("co_unit", "区财政局", "delivered"),
        ("co_unit", "区人社局", "delivered"),
    ]
    assert len(world.webhook.for_task(spec.id)) == 4
    await finish(handle)


def _notice_batches(events: list[Any]) -> list[list[tuple[str, str, str]]]:
    return [
        [(n["kind"], n["role"], n["unit"]) for n in b["notices"]]
        for b in _writes(events)
        if b["notices"]
    ]


async def test_a_notice_that_cannot_go_with_its_write_is_tried_again_on_its_own(
    world: World,
) -> None:
    """Release 4: the webhook answers 503 when the escalation's write goes: the events are in
    the ledger at once, and the notices, left `waiting`, go by a patient batch of their own
    once the webhook answers again; the next write does not wait for them."""
    spec = make_spec()
    handle = await world.start(spec)
    await world.env.sleep(timedelta(minutes=59))
    world.webhook.fail_next = 3  # the escalation's three notices, tried once each
    await world.env.sleep(timedelta(minutes=2))
    await at_level(handle, 1)

    async def all_told() -> bool:
        told = (await status(handle)).notifications
        return len(told) >= 4 and all(n.status == "delivered" for n in told)

    await eventually(all_told)
    history = list((await handle.fetch_history()).events)
    with_write = _notice_batches(history)
    on_their_own = [
        [(n["kind"], n["role"], n["unit"]) for n in b["notices"]]
        for b in _inputs(history, activity_names.SEND_NOTICES)
    ]
    escalation = [
        ("escalation", "lead_unit", LEAD),
        ("copy", "co_unit", "区财政局"),
        ("copy", "co_unit", "区人社局"),
    ]
    assert escalation in with_write  # tried first with the write
    assert on_their_own == [escalation]  # then, refused for the moment, on their own
    rows = await world.pool.fetch(
        "SELECT kind FROM task_events WHERE task_id = $1 AND kind = 'escalated'", spec.id
    )
    assert len(rows) == 1
    # Each reached the webhook once (the warning and the three), though tried more often.
    delivered = await world.pool.fetch(
        "SELECT status, attempts FROM notifications WHERE task_id = $1 AND kind = 'escalation'",
        spec.id,
    )
    assert [r["status"] for r in delivered] == ["delivered"]
    assert delivered[0]["attempts"] >= 2
    assert len(world.webhook.for_task(spec.id)) == 4
    await finish(handle)
