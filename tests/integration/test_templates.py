"""Templates: refused with the line on an unknown field; every notice kind rendered from its
facts by the real renderer at send time, in Chinese, naming the unit it is about."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities import templates
from activities.channels import WebhookChannel
from activities.notify import NotifyActivities
from starter.templatefile import read_templates
from tests.peers import WebhookReceiver
from workflows.contracts import Notice, NoticeBatch, NoticeFacts
from workflows.errors import DubanError
from workflows.names import NoticeKind

EXAMPLE = Path(__file__).parents[2] / "deploy" / "examples" / "templates.yaml"
PUBLIC = "https://duban.gov.example"
LATE = re.compile(r"逾期 [1-9]\d* (个工作日( [1-9]\d* 小时)?|小时)|刚刚逾期")


@pytest.fixture
async def office(pool: asyncpg.Pool) -> AsyncIterator[None]:
    await templates.replace(pool, read_templates(EXAMPLE))
    yield
    await templates.replace(pool, {})  # other tests use the default texts


@pytest.fixture
async def builtin(pool: asyncpg.Pool) -> None:
    await templates.replace(pool, {})


def test_an_unknown_field_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("warning: 'ok {title}'\nescalation: '{title} {owner}'\n", encoding="utf-8")
    with pytest.raises(DubanError) as info:
        read_templates(path)
    assert str(info.value).startswith(f"{path}:2: template 'escalation': unknown field {{owner}}")
    path.write_text("birthday: '{title}'\n", encoding="utf-8")
    with pytest.raises(DubanError, match="unknown notice kind 'birthday'"):
        read_templates(path)
    path.write_text("copy: '{unit}'\nwarning: '{window}'\ncopy: '{title}'\n", encoding="utf-8")
    with pytest.raises(DubanError, match=rf"^{re.escape(str(path))}:3: .* given twice"):
        read_templates(path)
    path.write_text("received: '{unit}{level:d}'\n", encoding="utf-8")
    with pytest.raises(DubanError, match=r":1: template 'received': cannot be filled in"):
        read_templates(path)
    assert set(read_templates(EXAMPLE)) == {"escalation", "copy", "warning"}


def every_kind(task_id: str) -> list[Notice]:
    """One notice of each kind, with the facts the workflow sends from release 3: the lead
    unit 区司法局 missed its receipt window, and 区人社局 is a co-unit."""
    closed = datetime.now(UTC) - timedelta(days=3)
    answer_by = datetime.now(UTC) + timedelta(days=1)
    late = NoticeFacts(
        subject_unit="区司法局", window="receive", window_deadline=closed, answer_by=answer_by
    )
    closing = late.model_copy(update={"window_deadline": answer_by})
    raised = NoticeFacts(
        subject_unit="区司法局", matter="difficulty", said="经费缺口较大", answer_by=answer_by
    )
    given = NoticeFacts(subject_unit="区人社局", said="已完成人员培训")
    failed = NoticeFacts(
        subject_unit="区司法局",
        said="sms: HTTP 400: template not approved",
        failed_role="deputy_secretary_general",
        failed_unit="区司法局",
    )
    cases: list[tuple[NoticeKind, str, str, NoticeFacts]] = [
        (NoticeKind.ESCALATION, "deputy_secretary_general", "区司法局", late),
        (NoticeKind.COPY, "lead_unit", "区司法局", late),
        (NoticeKind.COPY, "co_unit", "区人社局", late),
        (NoticeKind.REMINDER, "principal_leader", "区司法局", late),
        (NoticeKind.WARNING, "lead_unit", "区司法局", closing),
        (NoticeKind.MATTER, "office", "区政府办公室", raised),
        (NoticeKind.RECEIVED, "lead_unit", "区司法局", late.model_copy(update={"window": None})),
        (NoticeKind.CONTRIBUTION, "lead_unit", "区司法局", given),
        (NoticeKind.UNDELIVERED, "office", "区政府办公室", failed),
    ]
    return [
        Notice(
            task_id=task_id,
            seq=seq,
            title="完善行政执法协调机制",
            level=2,
            role=role,  # type: ignore[arg-type]
            unit=unit,
            kind=kind,
            about=about,
        )
        for seq, (kind, role, unit, about) in enumerate(cases, 1)
    ]


def english_in(text: str, task_id: str) -> list[str]:
    """English words a reader would see, the task's id and its address aside."""
    text = text.replace(f"{PUBLIC}/namespaces/default/workflows/{task_id}", "")
    return re.findall(r"[A-Za-z]{2,}", text.replace(task_id, ""))


async def send_every_kind(
    pool: asyncpg.Pool, webhook: WebhookReceiver
) -> tuple[str, dict[int, str]]:
    """Every kind in one batch, as the workflow sends one event's notices; their texts."""
    task_id = f"T-wording-{uuid.uuid4().hex[:8]}"
    notices = every_kind(task_id)
    notify = NotifyActivities(pool, {"webhook": WebhookChannel(webhook.url)}, PUBLIC)
    batch = NoticeBatch(notices=notices, attempts=1)
    outcomes = await ActivityEnvironment().run(notify.send_notices, batch)
    assert [o.status for o in outcomes] == ["delivered"] * len(notices)
    got = webhook.for_task(task_id)  # in the batch's order
    assert [(p["kind"], p["unit"]) for p in got] == [(n.kind, n.unit) for n in notices]
    texts = {n.seq: p["text"] for n, p in zip(notices, got, strict=True)}
    for text in texts.values():
        assert text.startswith("【督办"), text
        assert english_in(text, task_id) == [], text
        assert "逾期 0" not in text
        assert text.endswith(f"详情：{PUBLIC}/namespaces/default/workflows/{task_id}")
    return task_id, texts


async def test_every_kind_in_chinese_from_its_facts(
    pool: asyncpg.Pool, webhook: WebhookReceiver, builtin: None
) -> None:
    _, texts = await send_every_kind(pool, webhook)
    escalation, lead_copy, co_copy, reminder, warning, matter, received, given, failed = (
        texts[seq] for seq in range(1, 10)
    )
    assert LATE.search(escalation) and "区司法局签收（应于 " in escalation
    assert "前签收）" in escalation and "现升级至副秘书长（第 2 级）" in escalation
    # The copy to the co-unit names the late lead unit, and not the co-unit itself.
    assert "区司法局签收" in co_copy and "区人社局" not in co_copy and LATE.search(co_copy)
    assert co_copy == lead_copy
    assert "再次提醒主要领导" in reminder
    assert "请区司法局按时签收" in warning and not LATE.search(warning)
    assert "区司法局提出执行困难「经费缺口较大」，请办公室于 " in matter
    assert "区司法局已签收，请牵头单位主要负责人当日阅知" in received
    assert "协办单位区人社局报送协办情况：「已完成人员培训」" in given
    assert "致区司法局副秘书长的通知未能送达" in failed


async def test_the_office_s_templates_replace_the_defaults_kind_by_kind(
    pool: asyncpg.Pool, webhook: WebhookReceiver, office: None
) -> None:
    task_id, texts = await send_every_kind(pool, webhook)
    escalation, lead_copy, co_copy = texts[1], texts[2], texts[3]
    assert "区司法局签收应于 " in escalation and "请于 " in escalation
    assert "督促区司法局反馈" in escalation and LATE.search(escalation)
    # The example's copy names the late unit as late, and the co-unit as the one told.
    link = f"详情：{PUBLIC}/namespaces/default/workflows/{task_id}"
    assert "区司法局签收应于 " in co_copy and co_copy.endswith(f"请区人社局知悉。{link}")
    assert "区人社局签收" not in co_copy
    assert "请区司法局知悉" in lead_copy
    # The kinds the office left alone keep the default texts.
    assert texts[4].startswith("【督办提醒】") and "再次提醒主要领导" in texts[4]
