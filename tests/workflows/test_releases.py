"""A task started today keeps the current release's rules: its history carries one release
marker instead of a marker per patch, it asks the calendar locally, and the ledger gets a
step with the deadline it sets in one write."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from tests.workflows.conftest import World
from tests.workflows.harness import LEAD, at_level, eventually, finish, make_spec, msg, send, status
from workflows import activity_names, releases
from workflows.policy import BUILTIN


def _patch_markers(events: list[Any]) -> list[str]:
    ids = []
    for e in events:
        if e.HasField("marker_recorded_event_attributes"):
            marker = e.marker_recorded_event_attributes
            if marker.marker_name == "core_patch":
                ids.append(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return ids


def _inputs(events: list[Any], name: str) -> list[Any]:
    """The argument of every activity named `name` the workflow scheduled, in order."""
    return [
        json.loads(e.activity_task_scheduled_event_attributes.input.payloads[0].data)
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == name
    ]


def _ledger_batches(events: list[Any]) -> list[list[str]]:
    """The event kinds of each ledger write, in order."""
    return [
        [ev["kind"] for ev in b["events"]] for b in _inputs(events, activity_names.RECORD_EVENTS)
    ]


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


async def test_everyone_an_escalation_tells_is_sent_by_one_activity(world: World) -> None:
    spec = make_spec()  # hourly windows: the receipt is missed after an hour
    handle = await world.start(spec)
    await world.env.sleep(timedelta(hours=1, minutes=1))
    state = await at_level(handle, 1)

    async def all_told() -> bool:
        return len((await status(handle)).notifications) >= 4  # the warning, then three

    await eventually(all_told)
    state = await status(handle)
    history = list((await handle.fetch_history()).events)
    assert _scheduled(history) == {activity_names.RECORD_EVENTS, activity_names.SEND_NOTICES}
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
        for b in _inputs(events, activity_names.SEND_NOTICES)
    ]
