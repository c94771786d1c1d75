"""The calendar inside a task: a flagged fallback year, and notices kept to working hours."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import SearchAttributeKey

from activities.calendar import WorkingCalendar, library_knows
from tests.policies import HOURLY
from tests.workflows.conftest import World
from tests.workflows.harness import eventually, finish, make_spec, status

FALLBACK = SearchAttributeKey.for_bool("CalendarFallback")


async def test_a_deadline_in_a_year_without_a_calendar_is_flagged(world: World) -> None:
    # 60 working days from late November 2026 end in 2027, which no calendar covers yet.
    # (The time-skipping clock is shared by the session's tests and may be years ahead:
    # the year is whichever the deadline falls in; a year past 2026 has no calendar.)
    windows = HOURLY.windows.model_copy(update={"receive": "60wd"})
    spec = make_spec(policy=HOURLY.model_copy(update={"windows": windows}))
    handle = await world.start(spec)

    async def flagged() -> object:
        state = await status(handle)
        return state if state.window and state.window.name == "receive" else None

    state = await eventually(flagged)
    year = state.window.deadline.year
    assert year >= 2027
    expected = not library_knows(year)
    assert state.window.fallback is expected and state.fallback is expected
    assert ("按周一至周五推算" in state.window.rule) is expected

    async def attribute() -> object:
        attrs = (await handle.describe()).typed_search_attributes
        return attrs.get(FALLBACK) is expected

    await eventually(attribute)
    await finish(handle)


async def _delivered(world: World, task_id: str, n: int) -> bool:
    ladder = [p for p in world.webhook.for_task(task_id) if p["kind"] == "escalation"]
    return len(ladder) >= n


async def test_non_urgent_notices_wait_for_working_hours_urgent_ones_do_not(world: World) -> None:
    quiet = HOURLY.model_copy(update={"quiet_hours": True})
    normal = make_spec(policy=quiet)
    urgent = make_spec(policy=quiet, urgency="urgent")
    handles = [await world.start(normal), await world.start(urgent)]
    await world.env.sleep(timedelta(hours=1, minutes=1))

    # The urgent task's escalation goes at once, whatever the hour.
    await eventually(lambda: _delivered(world, urgent.id, 1))

    missed_at = (await status(handles[0])).events[-1].at
    opens = WorkingCalendar().working_hours_from(missed_at)
    if opens > missed_at:  # outside working hours: the notice waits, on a durable timer
        await eventually(lambda: _held(handles[0]))
        assert not await _delivered(world, normal.id, 1)
        await world.env.sleep(opens - await world.env.get_current_time() + timedelta(minutes=1))
    await eventually(lambda: _delivered(world, normal.id, 1))
    for handle in handles:
        await finish(handle)


async def _held(handle: object) -> bool:
    return bool(await handle.query("held_notices"))  # type: ignore[attr-defined]
