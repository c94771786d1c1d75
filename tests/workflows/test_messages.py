"""Departments hear "no" at once; refused signals change nothing; rework and withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from tests.workflows.conftest import World
from tests.workflows.harness import (
    LEAD,
    OFFICE,
    eventually,
    finish,
    make_spec,
    msg,
    refused,
    send,
    status,
)
from workflows.contracts import Envelope, Stage, TaskState
from workflows.task import TaskWorkflow


async def test_every_refusal_has_a_reason_and_changes_nothing(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    before = await eventually(lambda: _recorded(handle))

    assert "only 区司法局 may" in await refused(handle, "receive", msg(unit="区教育局"))
    assert "at stage assigned" in await refused(handle, "report", msg(kind="plan", text="计划"))
    assert "empty report" in await refused(handle, "report", msg(kind="plan", text="  "))
    assert "only 区政府办公室 may" in await refused(handle, "verify", msg())
    assert "not escalated" in await refused(handle, "ack", msg(role="lead_unit"))
    assert "empty withdrawal" in await refused(handle, "withdraw", msg(unit=OFFICE))
    after = await status(handle)
    assert after.seq == before.seq and after.stage == Stage.ASSIGNED

    # A refused signal changes nothing but is recorded as refused.
    await handle.signal(
        TaskWorkflow.message, Envelope(action="receive", message=msg(unit="区教育局"))
    )
    state = await eventually(lambda: _recorded(handle, before.seq + 1))
    assert state.stage == Stage.ASSIGNED
    assert state.events[-1].kind == "refused" and "only 区司法局 may" in state.events[-1].detail
    # An accepted signal moves the task like the update would.
    await handle.signal(TaskWorkflow.message, Envelope(action="receive", message=msg()))
    state = await eventually(lambda: _recorded(handle, before.seq + 2))
    assert state.stage == Stage.RECEIVED
    await finish(handle)
    rows = await world.pool.fetch(
        "SELECT kind FROM task_events WHERE task_id = $1 AND kind = 'refused'", spec.id
    )
    assert len(rows) == 1


async def test_rejected_verification_sends_the_task_back_with_the_reason(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    for action, fields in [
        ("receive", {}),
        ("deploy", {}),
        ("report", {"kind": "plan", "text": "计划"}),
        ("report", {"kind": "completion", "text": "已完成"}),
    ]:
        await send(handle, action, msg(**fields))
    assert "empty rejection" in await refused(handle, "reject", msg(unit=OFFICE))
    back = await send(handle, "reject", msg(unit=OFFICE, by="李四", text="缺少印发文号"))
    assert back.stage == Stage.IN_PROGRESS
    state = await status(handle)
    assert state.rework_reason == "缺少印发文号"
    await world.env.sleep(timedelta(minutes=10))
    state = await status(handle)
    assert state.window is not None and state.window.name == "stage_every"
    await send(handle, "report", msg(kind="completion", text="已补充文号"))
    await send(handle, "verify", msg(unit=OFFICE))
    final: TaskState = await handle.result()
    assert final.stage == Stage.CLOSED
    assert [e.kind for e in final.events].count("reported_completion") == 2
    # A report after close-out is refused: the closed workflow takes no more updates.
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await send(handle, "report", msg(kind="progress", text="补充"))


async def test_withdrawal_by_the_assigning_unit_ends_the_task(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    assert "only 区政府办公室 may" in await refused(
        handle, "withdraw", msg(unit=LEAD, text="不办了")
    )
    await send(handle, "withdraw", msg(unit=OFFICE, text="任务已调整"))
    final: TaskState = await handle.result()
    assert final.stage == Stage.WITHDRAWN
    row = await world.pool.fetchrow("SELECT stage FROM tasks WHERE id = $1", spec.id)
    assert row is not None and row["stage"] == "withdrawn"


async def _recorded(handle: object, seq: int | None = None) -> TaskState | None:
    state = await status(handle)  # type: ignore[arg-type]
    if state.unrecorded or (seq is not None and state.seq < seq):
        return None
    return state
