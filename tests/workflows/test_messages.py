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

    assert "只有区司法局可以签收" in await refused(handle, "receive", msg(unit="区教育局"))
    assert "处于“待签收”阶段；计划报告应在" in await refused(
        handle, "report", msg(kind="plan", text="计划")
    )
    assert "报告内容为空" in await refused(handle, "report", msg(kind="plan", text="  "))
    assert "只有区政府办公室可以核实销号" in await refused(handle, "verify", msg())
    assert "未升级督办" in await refused(handle, "ack", msg(role="lead_unit"))
    assert "撤回说明内容为空" in await refused(handle, "withdraw", msg(unit=OFFICE))
    after = await status(handle)
    assert after.seq == before.seq and after.stage == Stage.ASSIGNED

    # A refused signal changes nothing but is recorded as refused.
    await handle.signal(
        TaskWorkflow.message, Envelope(action="receive", message=msg(unit="区教育局"))
    )
    state = await eventually(lambda: _recorded(handle, before.seq + 1))
    assert state.stage == Stage.ASSIGNED
    assert state.events[-1].kind == "refused"
    assert state.events[-1].detail.startswith("拒绝签收：区教育局无权签收：任务 ")
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
    assert "退回意见内容为空" in await refused(handle, "reject", msg(unit=OFFICE))
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
    assert "只有区政府办公室可以撤回任务" in await refused(
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
