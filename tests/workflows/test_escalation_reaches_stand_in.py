"""The issue's "done when": a task climbs to the deputy secretary-general, who is on leave;
the escalation reaches the stand-in by IM and SMS, once each, and the ledger says so."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from activities import directory as store
from tests.peers import WebhookReceiver
from tests.workflows.harness import at_level, eventually, finish, make_spec, running_worker, start
from workflows.contracts import NoticeOutcome

STAND_IN_MOBILE = "13800000005"  # 钱七, standing in for 赵六 in the example directory


async def test_a_deputy_on_leave_is_reached_through_the_stand_in_by_im_and_sms_once(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, directory: None
) -> None:
    with WebhookReceiver() as robot, WebhookReceiver() as gateway:
        robot.reply = b'{"errcode": 0}'
        gateway.reply = b'{"code": 0}'
        async with running_worker(
            ts_env.client,
            pool,
            task_queue,
            None,
            wecom_url=robot.url + "?key=k1",
            sms_url=gateway.url,
            sms_key="gw-secret",
        ):
            spec = make_spec()
            handle = await start(ts_env.client, spec, task_queue)
            # Nobody signs for it: the receive window and the lead unit's answer window pass.
            await ts_env.sleep(timedelta(hours=2, minutes=1))
            state = await at_level(handle, 2)

            def to_deputy() -> list[NoticeOutcome]:
                return [n for n in state.notifications if n.role == "deputy_secretary_general"]

            [outcome] = to_deputy()
            assert outcome.status == "delivered" and outcome.channel == "sms+wecom"
            assert (outcome.person, outcome.via) == ("qian.qi", "stand-in for zhao.liu")
            await finish(handle)

        sms = [m for m in gateway.received if m["to"] == STAND_IN_MOBILE]
        im = [m for m in robot.received if m["text"]["mentioned_mobile_list"] == [STAND_IN_MOBILE]]
    assert len(sms) == 1 and "副秘书长" in sms[0]["params"]["text"]
    assert len(im) == 1 and spec.title in im[0]["text"]["content"]
    # Idempotency keys: one per (task, event, recipient, channel), never reused.
    assert sms[0]["_idempotency_header"] != im[0]["_idempotency_header"]

    rows = await eventually(
        lambda: pool.fetch(
            "SELECT channel, status, person_id, reached_via, attempts FROM notifications"
            " WHERE task_id = $1 AND role = 'deputy_secretary_general' ORDER BY channel",
            spec.id,
        )
    )
    assert [tuple(r)[:4] for r in rows] == [
        ("sms", "delivered", "qian.qi", "stand-in for zhao.liu"),
        ("wecom", "delivered", "qian.qi", "stand-in for zhao.liu"),
    ]


async def test_a_leader_changed_mid_task_gets_the_next_notice(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, directory: None
) -> None:
    with WebhookReceiver() as gateway:
        gateway.reply = b'{"code": 0}'
        async with running_worker(
            ts_env.client, pool, task_queue, None, sms_url=gateway.url, sms_key="k"
        ):
            spec = make_spec()
            handle = await start(ts_env.client, spec, task_queue)
            await ts_env.sleep(timedelta(hours=2, minutes=1))
            await at_level(handle, 2)
            # The principal leader changes while the task climbs: 周九 takes over from 孙八.
            current = await store.load(pool)
            current.holders[("principal_leader", "*")] = "zhou.jiu"
            await store.replace(pool, current)
            await ts_env.sleep(timedelta(hours=1))
            state = await at_level(handle, 3)
            [told] = [n for n in state.notifications if n.role == "principal_leader"]
            assert (told.person, told.via, told.channel) == ("zhou.jiu", "holder", "sms")
            await finish(handle)
        assert [m["to"] for m in gateway.received if m["to"] == "13800000006"] == []
