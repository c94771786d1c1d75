"""A task received, deployed, reported on, completed, verified and closed, on time."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from tests.peers import WebhookReceiver
from tests.workflows.harness import OFFICE, make_spec, msg, running_worker, send, start, status
from workflows.contracts import Stage, TaskState


async def test_happy_path_closes_with_a_full_ledger(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, webhook: WebhookReceiver
) -> None:
    spec = make_spec()
    async with running_worker(ts_env.client, pool, task_queue, webhook.url):
        handle = await start(ts_env.client, spec, task_queue)
        assert (await send(handle, "receive", msg())).stage == Stage.RECEIVED
        await ts_env.sleep(timedelta(minutes=30))
        assert (await send(handle, "deploy", msg())).stage == Stage.DEPLOYED
        await send(handle, "report", msg(kind="plan", text="计划已制定"))
        await send(handle, "report", msg(kind="progress", text="已完成初稿"))
        await ts_env.sleep(timedelta(hours=3))
        await send(handle, "report", msg(kind="progress", text="已征求意见"))
        await send(handle, "report", msg(kind="completion", text="办法已印发"))
        accepted = await send(handle, "verify", msg(unit=OFFICE, by="李四"))
        assert accepted.stage == Stage.CLOSED
        final: TaskState = await handle.result()
        assert (await status(handle)).stage == Stage.CLOSED

    assert final.stage == Stage.CLOSED
    assert final.misses == 0 and final.escalation_level == 0
    assert webhook.for_task(spec.id) == []
    kinds = [e.kind for e in final.events if e.kind != "deadline_set"]
    assert kinds == [
        "assigned",
        "received",
        "deployed",
        "reported_plan",
        "reported_progress",
        "reported_progress",
        "reported_completion",
        "verified",
    ]
    rows = await pool.fetch(
        "SELECT seq, kind, unit, actor FROM task_events WHERE task_id = $1 ORDER BY seq", spec.id
    )
    assert [(r["seq"], r["kind"], r["unit"], r["actor"]) for r in rows] == [
        (e.seq, e.kind, e.unit, e.by) for e in final.events
    ]
    task = await pool.fetchrow("SELECT stage, last_seq FROM tasks WHERE id = $1", spec.id)
    assert task is not None and task["stage"] == "closed" and task["last_seq"] == final.seq
