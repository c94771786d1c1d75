"""Action links made where notices are sent (activities.notify, activities.links), against a
real PostgreSQL, the example directory and a WeCom robot peer and a webhook peer on
loopback: for whom, with which actions, in which unit and role; kept only as a hash; one
link for a notice and a person however often the activity is retried; none where the
notice asks nothing of its reader or the directory lets them do none of it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities import links
from activities.channels import WebhookChannel
from activities.channels.wecom import WecomRobot
from activities.notify import NotifyActivities
from tests.integration.conftest import seed_task
from tests.peers import WebhookReceiver
from workflows.contracts import Notice, NoticeBatch, NoticeFacts, Stage
from workflows.names import Action, NoticeKind

BASE = "https://duban.gov.example/api"


@pytest.fixture
def wecom() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as peer:
        peer.reply = b'{"errcode": 0, "errmsg": "ok"}'
        yield peer


def notices(task_id: str) -> list[Notice]:
    """One event's notices: the deputy secretary-general told the lead unit missed its
    receipt, the head of the lead unit copied."""
    now = datetime.now(UTC)
    late = NoticeFacts(
        subject_unit="区司法局",
        window="receive",
        window_deadline=now - timedelta(hours=5),
        answer_by=now + timedelta(days=1),
    )
    return [
        Notice(
            task_id=task_id,
            seq=7,
            title="完善行政执法协调机制",
            level=2,
            role=role,  # type: ignore[arg-type]
            unit="区司法局",
            kind=kind,
            deadline=late.answer_by,
            about=late,
        )
        for role, kind in (
            ("deputy_secretary_general", NoticeKind.ESCALATION),
            ("lead_unit", NoticeKind.COPY),
        )
    ]


async def test_one_link_per_notice_and_person_however_often_retried(
    pool: asyncpg.Pool, receiver: WebhookReceiver, wecom: WebhookReceiver, directory: None
) -> None:
    task_id = await seed_task(pool, "区司法局", Stage.ASSIGNED)
    channels = {"webhook": WebhookChannel(receiver.url), "wecom": WecomRobot(wecom.url)}
    notify = NotifyActivities(pool, channels, None, action_base=BASE)  # type: ignore[dict-item]
    batch = NoticeBatch(notices=notices(task_id), attempts=3)
    receiver.fail_next = 100  # the webhook down for an attempt: WeCom delivers, it is retried
    with pytest.raises(Exception, match="HTTP 503"):
        await ActivityEnvironment().run(notify.send_notices, batch)
    receiver.fail_next = 0
    await asyncio.sleep(1.5)  # Temporal's retry comes after its backoff
    outcomes = await ActivityEnvironment().run(notify.send_notices, batch)
    assert [o.status for o in outcomes] == ["delivered", "delivered"]

    [robot] = [p for p in wecom.received if "现升级至副秘书长" in p["text"]["content"]]
    said = robot["text"]["content"]
    assert robot["text"]["mentioned_mobile_list"] == ["13800000005"]  # qian.qi, standing in
    assert f"办理：{BASE}/a/" in said
    first = said.split("办理：", 1)[1].split()[0]
    hooks = {p["kind"]: p for p in receiver.for_task(task_id)}
    hooked, copied = hooks["escalation"], hooks["copy"]
    second = hooked["action_url"]
    assert second.startswith(f"{BASE}/a/") and second in hooked["text"]
    # The retry could not read the first token back: a token of its own, the same link.
    assert first != second
    a = await links.find(pool, first.rsplit("/", 1)[1])
    b = await links.find(pool, second.rsplit("/", 1)[1])
    assert a is not None and b is not None and a.id == b.id
    assert (a.person_id, a.unit, a.role, a.stand_in_for, a.message_role, a.actions) == (
        "qian.qi",
        "区司法局",
        "deputy_secretary_general",
        "zhao.liu",
        "deputy_secretary_general",
        ("ack",),
    )
    count = await pool.fetchval("SELECT count(*) FROM action_links WHERE task_id = $1", task_id)
    assert count == 1
    # Used through one token, the link is used through the other too.
    assert await links.claim(pool, a, Action.ACK, datetime.now(UTC))
    again = await links.find(pool, second.rsplit("/", 1)[1])
    assert again is not None and again.state(datetime.now(UTC)) == "used"
    assert not await links.claim(pool, again, Action.ACK, datetime.now(UTC))

    # The copy asks nothing of the head of the lead unit: no link.
    assert copied["recipient_role"] == "lead_unit"
    assert copied["action_url"] is None and "办理：" not in copied["text"]
    # The outbox keeps no token: only the link's address with its token hidden.
    bodies = [
        r["body"]
        for r in await pool.fetch("SELECT body FROM notifications WHERE task_id = $1", task_id)
    ]
    tokens = [first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]]
    assert bodies and not [b for b in bodies for t in tokens if t in b]
    assert any(f"办理：{BASE}/a/***" in b for b in bodies)


async def test_who_is_asked_what(
    pool: asyncpg.Pool, receiver: WebhookReceiver, directory: None
) -> None:
    task_id = await seed_task(pool, "区司法局", Stage.ASSIGNED)
    notify = NotifyActivities(
        pool, {"webhook": WebhookChannel(receiver.url)}, None, action_base=BASE
    )
    now = datetime.now(UTC)
    soon = now + timedelta(hours=2)

    def at(seq: int, role: str, unit: str, kind: NoticeKind, level: int, **about: object) -> Notice:
        facts = NoticeFacts(subject_unit="区司法局", **about)  # type: ignore[arg-type]
        return Notice(
            task_id=task_id,
            seq=seq,
            title="完善行政执法协调机制",
            level=level,
            role=role,  # type: ignore[arg-type]
            unit=unit,
            kind=kind,
            about=facts,
        )

    cases = [
        # the receipt window closing: the head of the lead unit may sign
        (at(1, "lead_unit", "区司法局", NoticeKind.WARNING, 0, window="receive",
            window_deadline=soon), "zhang.san", ("receive",), "unit_head"),
        # another window closing asks a report, which a link does not take
        (at(2, "lead_unit", "区司法局", NoticeKind.WARNING, 0, window="deploy",
            window_deadline=soon), "zhang.san", (), None),
        # level 1 of a missed receipt: sign, or take it up
        (at(3, "lead_unit", "区司法局", NoticeKind.ESCALATION, 1, window="receive",
            window_deadline=now, answer_by=soon), "zhang.san", ("receive", "ack"), "unit_head"),
        # the top reminded
        (at(4, "principal_leader", "区司法局", NoticeKind.REMINDER, 3, window="deploy",
            window_deadline=now, answer_by=soon), "sun.ba", ("ack",), "principal_leader"),
        # a difficulty: the office answers
        (at(5, "office", "区政府办公室", NoticeKind.MATTER, 0, matter="difficulty",
            said="经费缺口较大", answer_by=soon), "wu.shi", ("answer_difficulty",), "office"),
        # a request for more time: the approver (the assigning unit's office) decides
        (at(6, "office", "区政府办公室", NoticeKind.MATTER, 0, matter="extension",
            said="需待预算批复", answer_by=soon), "wu.shi", ("decide_extension",), "office"),
        # a disagreement at the office's level
        (at(7, "office", "区政府办公室", NoticeKind.MATTER, 0, matter="disagreement",
            said="经费分担", answer_by=soon), "wu.shi", ("resolve",), "office"),
        # an unanswered difficulty climbed to the deputy: told, but not theirs to answer
        (at(8, "deputy_secretary_general", "区司法局", NoticeKind.MATTER, 1,
            matter="difficulty", said="经费缺口较大", answer_by=soon), "qian.qi", (), None),
        # the escalation's answer window already closed: nothing left to act on
        (at(9, "deputy_secretary_general", "区司法局", NoticeKind.ESCALATION, 2,
            window="receive", window_deadline=now - timedelta(hours=2),
            answer_by=now - timedelta(minutes=1)), "qian.qi", (), None),
        # the undelivered and the received notices ask nothing
        (at(10, "office", "区政府办公室", NoticeKind.UNDELIVERED, 0), "wu.shi", (), None),
        (at(11, "lead_unit", "区司法局", NoticeKind.RECEIVED, 0), "zhang.san", (), None),
    ]  # fmt: skip
    batch = NoticeBatch(notices=[c[0] for c in cases], attempts=1)
    outcomes = await ActivityEnvironment().run(notify.send_notices, batch)
    assert [o.status for o in outcomes] == ["delivered"] * len(cases)
    assert len(receiver.for_task(task_id)) == len(cases)
    for (n, person, actions, role), payload in zip(cases, receiver.for_task(task_id), strict=True):
        assert payload["person"]["id"] == person, n.seq
        url = payload["action_url"]
        if not actions:
            assert url is None and "办理：" not in payload["text"], n.seq
            continue
        assert url is not None and f"办理：{url}" in payload["text"], n.seq
        # In Chinese but for the task's id and the addresses (a URL is allowed).
        words = re.sub(r"https?://\S+", "", payload["text"]).replace(task_id, "")
        assert re.findall(r"[A-Za-z]{2,}", words) == [], payload["text"]
        link = await links.find(pool, url.rsplit("/", 1)[1])
        assert link is not None, n.seq
        assert (link.seq, link.person_id, link.actions, link.role) == (n.seq, person, actions, role)
        # it ends with the window it answers
        assert n.about is not None
        assert link.expires_at == (n.about.answer_by or n.about.window_deadline), n.seq
    rows = await pool.fetch("SELECT seq FROM action_links WHERE task_id = $1 ORDER BY seq", task_id)
    assert [r["seq"] for r in rows] == [1, 3, 4, 5, 6, 7]


async def test_a_link_lives_seven_days_at_most(
    pool: asyncpg.Pool, receiver: WebhookReceiver, directory: None
) -> None:
    task_id = await seed_task(pool, "区司法局", Stage.ASSIGNED)
    notify = NotifyActivities(
        pool, {"webhook": WebhookChannel(receiver.url)}, None, action_base=BASE
    )
    before = datetime.now(UTC)
    far = before + timedelta(days=30)
    n = Notice(
        task_id=task_id,
        seq=1,
        title="完善行政执法协调机制",
        level=0,
        role="office",
        unit="区政府办公室",
        kind=NoticeKind.MATTER,
        about=NoticeFacts(subject_unit="区司法局", matter="difficulty", answer_by=far),
    )
    await notify.send_notice(n)
    after = datetime.now(UTC)
    [payload] = receiver.for_task(task_id)
    link = await links.find(pool, payload["action_url"].rsplit("/", 1)[1])
    assert link is not None
    assert before + links.LIFETIME <= link.expires_at <= after + links.LIFETIME
