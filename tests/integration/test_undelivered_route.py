"""The office is told of a notice that did not get through over another channel than the one
that failed (issue 14): routing leaves out the channels the outbox says failed for the notice
an `undelivered` notice is about, and those a notice names in `avoid`; when nothing else
reaches the office, the failed channel is tried after all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from activities.channels import WebhookChannel
from activities.channels.email import EmailChannel
from activities.channels.wecom import WecomRobot
from activities.notify import NotifyActivities
from tests.peers import SmtpPeer, WebhookReceiver
from workflows.contracts import Notice, NoticeFacts
from workflows.names import NoticeKind

LEAD, OFFICE = "区司法局", "区政府办公室"


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def robot() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as peer:
        peer.reply = b'{"errcode": 0}'
        yield peer


async def _failed_before(pool: asyncpg.Pool, task_id: str, channel: str) -> None:
    """The lead unit's notice of event 5 failed on `channel`, as the outbox records it."""
    await pool.execute(
        "INSERT INTO notifications (task_id, seq, role, unit, channel, kind, level, body, "
        "status, last_error) VALUES ($1, 5, 'lead_unit', $2, $3, 'escalation', 1, '', "
        "'failed', 'gave up: HTTP 503')",
        task_id,
        LEAD,
        channel,
    )


def _undelivered(task_id: str) -> Notice:
    about = NoticeFacts(
        subject_unit=LEAD, said="gave up: HTTP 503", failed_role="lead_unit", failed_unit=LEAD
    )
    return Notice(
        task_id=task_id,
        seq=6,
        title="完善行政执法协调机制",
        level=1,
        role="office",
        unit=OFFICE,
        kind=NoticeKind.UNDELIVERED,
        about=about,
    )


async def test_the_office_is_told_over_another_channel_than_the_one_that_failed(
    pool: asyncpg.Pool, receiver: WebhookReceiver, smtp: SmtpPeer, directory: None
) -> None:
    task_id = f"T-und-{uuid.uuid4().hex[:8]}"
    await _failed_before(pool, task_id, "webhook")
    hook = WebhookChannel(receiver.url)
    mail = EmailChannel("127.0.0.1", smtp.port, "duban@example.gov.cn")
    notify = NotifyActivities(pool, {"webhook": hook, "email": mail})  # type: ignore[dict-item]

    outcome = await notify.send_notice(_undelivered(task_id))

    assert (outcome.status, outcome.channel, outcome.person) == ("delivered", "email", "wu.shi")
    [(to, message)] = smtp.messages
    assert to == ["wushi@example.gov.cn"] and LEAD in message.get_content()
    assert receiver.for_task(task_id) == []  # not over the webhook that had failed
    channels = await pool.fetch(
        "SELECT channel FROM notifications WHERE task_id = $1 AND seq = 6", task_id
    )
    assert [r["channel"] for r in channels] == ["email"]
    await hook.close()


async def test_with_no_other_way_to_the_office_the_failed_channel_is_tried_after_all(
    pool: asyncpg.Pool, receiver: WebhookReceiver, directory: None
) -> None:
    task_id = f"T-und-{uuid.uuid4().hex[:8]}"
    await _failed_before(pool, task_id, "webhook")
    hook = WebhookChannel(receiver.url)
    notify = NotifyActivities(pool, {"webhook": hook})

    outcome = await notify.send_notice(_undelivered(task_id))

    assert (outcome.status, outcome.channel) == ("delivered", "webhook")
    [sent] = receiver.for_task(task_id)
    assert sent["kind"] == NoticeKind.UNDELIVERED and sent["recipient_role"] == "office"
    await hook.close()


async def test_a_notice_that_names_channels_to_avoid_goes_another_way(
    pool: asyncpg.Pool, receiver: WebhookReceiver, robot: WebhookReceiver, directory: None
) -> None:
    task_id = f"T-und-{uuid.uuid4().hex[:8]}"
    hook, wecom = WebhookChannel(receiver.url), WecomRobot(robot.url)
    notify = NotifyActivities(pool, {"webhook": hook, "wecom": wecom})  # type: ignore[dict-item]
    notice = Notice(
        task_id=task_id,
        seq=3,
        title="完善行政执法协调机制",
        level=1,
        role="lead_unit",
        unit=LEAD,
        kind=NoticeKind.ESCALATION,
        text="【督办】已升级至牵头单位（第 1 级）。",
        avoid=["webhook"],
    )

    outcome = await notify.send_notice(notice)

    assert (outcome.status, outcome.channel) == ("delivered", "wecom")
    assert receiver.for_task(task_id) == []
    [sent] = robot.containing("已升级至牵头单位")
    assert sent["text"]["mentioned_mobile_list"] == ["13800000001"]  # zhang.san
    # Without `avoid` the same notice takes both.
    both = await notify.send_notice(notice.model_copy(update={"seq": 4, "avoid": []}))
    assert both.channel == "wecom+webhook"
    await hook.close()
    await wecom.client.aclose()
