"""A task received, deployed, reported on, completed, verified and closed, on time."""

from __future__ import annotations

from datetime import timedelta

from tests.workflows.conftest import World
from tests.workflows.harness import OFFICE, make_spec, msg, send, status
from workflows.contracts import Stage, TaskState


async def test_happy_path_closes_with_a_full_ledger(
    world: World,
) -> None:
    spec = make_spec()
    handle = await world.start(spec)
    assert (await send(handle, "receive", msg())).stage == Stage.RECEIVED
    await world.env.sleep(timedelta(minutes=30))
    assert (await send(handle, "deploy", msg())).stage == Stage.DEPLOYED
    await send(handle, "report", msg(kind="plan", text="计划已制定"))
    await send(handle, "report", msg(kind="progress", text="已完成初稿"))
    await world.env.sleep(timedelta(hours=3))
    await send(handle, "report", msg(kind="progress", text="已征求意见"))
    await send(handle, "report", msg(kind="completion", text="办法已印发"))
    accepted = await send(handle, "verify", msg(unit=OFFICE, by="李四"))
    assert accepted.stage == Stage.CLOSED
    final: TaskState = await handle.result()
    assert (await status(handle)).stage == Stage.CLOSED

    assert final.stage == Stage.CLOSED
    assert final.misses == 0 and final.escalation_level == 0
    # On time throughout: the lead unit may be warned of a closing window, nobody escalated.
    # The lead unit's head is told of the receipt the same day (S2 §5).
    assert {p["kind"] for p in world.webhook.for_task(spec.id)} <= {"warning", "received"}
    kinds = [e.kind for e in final.events if e.kind not in ("deadline_set", "warned")]
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
    rows = await world.pool.fetch(
        "SELECT seq, kind, unit, actor FROM task_events WHERE task_id = $1 ORDER BY seq", spec.id
    )
    assert [(r["seq"], r["kind"], r["unit"], r["actor"]) for r in rows] == [
        (e.seq, e.kind, e.unit, e.by) for e in final.events
    ]
    task = await world.pool.fetchrow("SELECT stage, last_seq FROM tasks WHERE id = $1", spec.id)
    assert task is not None and task["stage"] == "closed" and task["last_seq"] == final.seq
