"""A long task continues as new past its history limit, carrying its state and its ledger
sequence without a gap or a repeat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from tests.policies import HOURLY
from tests.workflows.conftest import World
from tests.workflows.harness import (
    finish,
    make_spec,
    msg,
    send,
    settled,
)
from workflows.contracts import Stage, TaskSpec
from workflows.policy import Policy

# The smallest history a policy allows, and a report due every hour.
SHORT_HISTORY = Policy.model_validate(
    {
        **HOURLY.model_dump(),
        "name": "short-history",
        "history_limit": 100,
        "windows": {**HOURLY.windows.model_dump(), "stage_every": "1h"},
    }
)


def latest(world: World, spec: TaskSpec) -> WorkflowHandle[Any, Any]:
    """A handle without a run id: it follows the task into each new run."""
    return world.env.client.get_workflow_handle(spec.id)


async def test_a_long_task_continues_as_new_with_a_gapless_ledger(world: World) -> None:
    spec = make_spec(policy=SHORT_HISTORY)
    first = await world.start(spec)
    first_run = (await first.describe()).run_id
    for action, fields in [("receive", {}), ("deploy", {}), ("report", {"kind": "plan"})]:
        await send(latest(world, spec), action, msg(text="计划", **fields))

    seqs: list[int] = []
    for n in range(30):
        await world.env.sleep(timedelta(minutes=5))
        accepted = await send(latest(world, spec), "report", msg(kind="progress", text=f"进展{n}"))
        assert accepted.stage == Stage.IN_PROGRESS
        seqs.append(accepted.seq)
    assert seqs == sorted(set(seqs))  # every report took a later seq, across the runs

    state = await settled(latest(world, spec), lambda s: s.runs > 1)
    described = await latest(world, spec).describe()
    assert described.run_id != first_run
    assert state.stage == Stage.IN_PROGRESS and state.last_report == "进展29"
    assert state.escalation_level == 0 and state.misses == 0
    assert state.seq >= seqs[-1]
    assert state.window is not None and state.window.name == "stage_every"
    reports = [e for e in state.events if e.kind == "reported_progress"]
    assert reports[-1].detail == "进展29"
    assert state.window.opened_at == reports[-1].at
    assert state.window.deadline == reports[-1].at + timedelta(hours=1)
    # The first run ended by continuing as new, not by failing.
    old = world.env.client.get_workflow_handle(spec.id, run_id=first_run)
    assert (await old.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW

    rows = await world.pool.fetch(
        "SELECT seq, kind FROM task_events WHERE task_id = $1 ORDER BY seq", spec.id
    )
    assert [r["seq"] for r in rows] == list(range(1, state.seq + 1))
    assert [r["kind"] for r in rows].count("reported_progress") == 30
    assert [r["kind"] for r in rows].count("assigned") == 1
    task = await world.pool.fetchrow("SELECT last_seq, stage FROM tasks WHERE id = $1", spec.id)
    assert task is not None and (task["last_seq"], task["stage"]) == (state.seq, "in_progress")

    # The new run still keeps time: the hourly report is missed and climbs.
    await world.env.sleep(timedelta(hours=1, minutes=1))
    missed = await settled(latest(world, spec), lambda s: s.escalation_level == 1)
    assert missed.misses == 1
    await finish(latest(world, spec))
