"""Release 5: a task holds the working days of the years it counts in, fetched once a year
a run, and counts its deadlines itself; a calendar change makes it fetch them again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from activities.calendar import WorkingCalendar, load_overrides
from activities.calendar_store import import_days
from tests.workflows.conftest import World
from tests.workflows.harness import eventually, finish, make_spec, marker_data, msg, send, status
from workflows.contracts import DeadlineRequest, TaskState
from workflows.policy import BUILTIN
from workflows.task import TaskWorkflow


def _local_activities(events: list[Any]) -> list[str]:
    """The type of every local activity the history records, in order."""
    return [data["activity_type"] for data in marker_data(events, "core_local_activity", "data")]


async def _expected(world: World, state: TaskState, days: int) -> Any:
    """The deadline the calendar activity would give for the open window, from the table
    as it stands now."""
    w = state.window
    assert w is not None
    around = w.opened_at.date()
    overrides = await load_overrides(
        world.pool, around - timedelta(days=400), around + timedelta(days=400)
    )
    request = DeadlineRequest(opened_at=w.opened_at, working_days=days)
    return WorkingCalendar().deadline(request, overrides)


async def test_a_task_counts_its_deadlines_over_the_year_it_holds(world: World) -> None:
    spec = make_spec(policy=BUILTIN["default"].model_copy(update={"quiet_hours": False}))
    handle = await world.start(spec)

    async def window(name: str) -> TaskState | None:
        state = await status(handle)
        return state if state.window and state.window.name == name else None

    state = await eventually(lambda: window("receive"))
    assert state.window is not None
    assert state.window.deadline == (await _expected(world, state, 1)).at
    await send(handle, "receive", msg())
    state = await eventually(lambda: window("deploy"))
    expected = await _expected(world, state, 3)
    assert state.window is not None
    assert (state.window.deadline, state.window.rule) == (expected.at, expected.rule)

    asked = _local_activities(list((await handle.fetch_history()).events))
    # Two windows and their warnings counted, and the calendar asked only for the years
    # they reach, each once: no question per deadline.
    assert asked and set(asked) == {"calendar.working_year"}
    years = {state.window.opened_at.year, state.window.deadline.year}
    assert len(asked) <= len(years) + 1  # the office's year may differ from UTC's at New Year

    # The office makes the deadline's day a holiday and tells the running tasks.
    day = state.window.deadline.astimezone(WorkingCalendar().tz).date()
    await import_days(world.pool, [(day, "holiday", "临时休息日")])
    try:
        await handle.signal(TaskWorkflow.calendar_changed, "测试：临时休息日")
        moved = await _expected(world, state, 3)
        assert moved.at > expected.at and "临时休息日" in moved.rule

        async def replanned() -> TaskState | None:
            now = await status(handle)
            return now if now.window and now.window.deadline == moved.at else None

        now = await eventually(replanned)
        assert now.window is not None and "临时休息日" in now.window.rule
        again = _local_activities(list((await handle.fetch_history()).events))
        assert len(again) > len(asked) and set(again) == {"calendar.working_year"}
    finally:
        await world.pool.execute("DELETE FROM calendar_days WHERE day = $1", day)
    await finish(handle)
