"""Every window of the procedure is a durable timer whose miss climbs the ladder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.calendar import classify, load_overrides
from tests.peers import WebhookReceiver
from tests.workflows.conftest import World
from tests.workflows.harness import (
    LEAD,
    OFFICE,
    at_level,
    eventually,
    finish,
    make_spec,
    msg,
    running_worker,
    send,
    start,
    status,
)
from workflows.contracts import Stage
from workflows.policy import BUILTIN

# The messages that bring a task to the stage whose window is tested.
STEPS: list[tuple[str, dict[str, str]]] = [
    ("receive", {}),
    ("deploy", {}),
    ("report", {"kind": "plan", "text": "计划"}),
    ("report", {"kind": "progress", "text": "进展"}),
    ("report", {"kind": "completion", "text": "完成"}),
]


@pytest.mark.parametrize(
    ("window", "steps", "owner", "late_after"),
    [
        ("receive", 0, LEAD, timedelta(hours=1, minutes=1)),
        ("deploy", 1, LEAD, timedelta(hours=1, minutes=1)),
        ("plan", 2, LEAD, timedelta(hours=3, minutes=1)),
        ("progress", 3, LEAD, timedelta(hours=5, minutes=1)),
        ("stage_every", 4, LEAD, timedelta(hours=4, minutes=1)),
        ("verify", 5, OFFICE, timedelta(hours=2, minutes=1)),
    ],
)
async def test_each_missed_window_escalates_to_its_owner(
    world: World,
    window: str,
    steps: int,
    owner: str,
    late_after: timedelta,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    for action, fields in STEPS[:steps]:
        await send(handle, action, msg(**fields))  # type: ignore[arg-type]
    before = await status(handle)
    assert before.escalation_level == 0
    await world.env.sleep(late_after)
    state = await at_level(handle, 1)
    assert state.window is not None
    assert (state.window.name, state.window.owner_unit) == (window, owner)
    missed = [e for e in state.events if e.kind == "missed"]
    assert len(missed) == 1 and missed[0].unit == owner
    await finish(handle)


async def test_a_due_date_earlier_than_the_next_report_becomes_the_deadline(
    world: World,
) -> None:
    now = datetime.now(UTC)
    spec = make_spec(due=date.today() + timedelta(days=1), policy=_long_policy())
    handle = await world.start(spec)
    for action, fields in STEPS[:3]:
        await send(handle, action, msg(**fields))  # type: ignore[arg-type]
    state = await eventually(lambda: _window_named(handle, "due"))
    assert state.window.deadline.utcoffset() == timedelta(hours=8)
    assert (state.window.deadline.hour, state.window.deadline.minute) == (18, 0)
    assert state.window.deadline.date() == spec.due
    assert state.window.deadline > now
    await finish(handle)


async def test_working_day_windows_close_at_18_00_shanghai_on_the_next_working_day(
    world: World,
) -> None:
    spec = make_spec(policy=BUILTIN["default"])
    handle = await world.start(spec)
    state = await eventually(lambda: _window_named(handle, "receive"))
    deadline = state.window.deadline
    assert deadline.utcoffset() == timedelta(hours=8)
    assert (deadline.hour, deadline.minute) == (18, 0)
    # The next working day by the real calendar (a weekday count would fail on the days
    # before a holiday or a make-up Saturday): a working day, and none between.
    opened = state.window.opened_at.astimezone(deadline.tzinfo).date()
    overrides = await load_overrides(world.pool, opened, deadline.date())
    between = [opened + timedelta(days=n) for n in range(1, (deadline.date() - opened).days)]
    assert deadline.date() > opened and classify(deadline.date(), overrides).working
    assert not [day for day in between if classify(day, overrides).working]
    assert "1 个工作日" in state.window.rule
    await finish(handle)


async def test_a_notification_the_peer_refuses_is_recorded_and_the_climb_goes_on(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str
) -> None:
    with WebhookReceiver() as refusing:
        refusing.status_when_failing, refusing.fail_next = 400, 1000
        spec = make_spec()
        async with running_worker(ts_env.client, pool, task_queue, refusing.url):
            handle = await start(ts_env.client, spec, task_queue)
            await ts_env.sleep(timedelta(hours=1, minutes=1))
            state = await eventually(lambda: _notified(handle, 1))
            assert state.notifications[0].status == "failed"
            assert "HTTP 400" in state.notifications[0].detail
            await ts_env.sleep(timedelta(hours=1))
            await at_level(handle, 2)
            await finish(handle)
    row = await pool.fetchrow(
        "SELECT status, attempts FROM notifications "
        "WHERE task_id = $1 AND level = 1 AND kind = 'escalation'",
        spec.id,
    )
    assert row is not None and (row["status"], row["attempts"]) == ("failed", 1)
    # The office is told, so that somebody chases the leader by other means.
    told = await pool.fetch(
        "SELECT kind FROM notifications WHERE task_id = $1 AND role = 'office'", spec.id
    )
    assert told and {r["kind"] for r in told} == {"undelivered"}


async def _window_named(handle: object, name: str) -> object:
    state = await status(handle)  # type: ignore[arg-type]
    return state if state.window and state.window.name == name else None


async def _notified(handle: object, n: int) -> object:
    state = await status(handle)  # type: ignore[arg-type]
    return state if len(state.notifications) >= n else None


def _long_policy() -> object:
    from workflows.policy import Policy

    data = BUILTIN["default"].model_dump()
    data["name"] = "long"
    return Policy.model_validate(data)


assert Stage.ASSIGNED  # the stages above are driven by messages, not set directly
