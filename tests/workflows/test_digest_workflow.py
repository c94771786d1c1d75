"""The weekly digest waits for a working morning, then sends."""

from __future__ import annotations

import uuid

from activities.calendar import WorkingCalendar
from tests.workflows.conftest import World
from workflows.digest import DigestOutcome, WeeklyDigestWorkflow


async def test_the_digest_waits_for_a_working_morning(world: World) -> None:
    handle = await world.env.client.start_workflow(
        WeeklyDigestWorkflow.run, id=f"digest-{uuid.uuid4()}", task_queue=world.task_queue
    )
    started = await world.env.get_current_time()
    outcome = await handle.result()  # no directory in this ledger: nobody to send to
    assert isinstance(outcome, DigestOutcome)
    assert outcome.delivered == {} and outcome.unreached == {}
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    waits = WorkingCalendar().working_hours_from(started) > started
    assert bool(timers) == waits
