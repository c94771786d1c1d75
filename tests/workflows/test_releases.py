"""A task started today keeps the current release's rules: its history carries one release
marker instead of a marker per patch, it asks the calendar locally, and the ledger gets a
step with the deadline it sets in one write."""

from __future__ import annotations

import json
from typing import Any

from temporalio.client import WorkflowHandle

from tests.workflows.conftest import World
from tests.workflows.harness import eventually, make_spec, msg, send, status
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


def _ledger_batches(events: list[Any]) -> list[list[str]]:
    """The event kinds of each ledger write, in order."""
    batches = []
    for e in events:
        if e.HasField("activity_task_scheduled_event_attributes"):
            scheduled = e.activity_task_scheduled_event_attributes
            if scheduled.activity_type.name == activity_names.RECORD_EVENTS:
                batch = json.loads(scheduled.input.payloads[0].data)
                batches.append([ev["kind"] for ev in batch["events"]])
    return batches


def _scheduled(events: list[Any]) -> set[str]:
    return {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    }


async def _deadline_recorded(world: World, handle: WorkflowHandle[Any, Any]) -> None:
    async def recorded() -> bool:
        state = await status(handle)
        return state.window is not None and not state.unrecorded

    await eventually(recorded)


async def test_a_new_task_carries_its_release_not_a_marker_per_patch(world: World) -> None:
    # The built-in policy counts in working days: every window asks the calendar.
    spec = make_spec(policy=BUILTIN["default"].model_copy(update={"quiet_hours": False}))
    handle = await world.start(spec)
    await _deadline_recorded(world, handle)
    await send(handle, "receive", msg())

    async def deploy_window_recorded() -> bool:
        state = await status(handle)
        return state.window is not None and state.window.name == "deploy" and not state.unrecorded

    await eventually(deploy_window_recorded)

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
