"""Editable templates: refused with the line on an unknown field, rendered when sent."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from activities import templates
from activities.channels import WebhookChannel
from activities.notify import NotifyActivities
from starter.templatefile import read_templates
from tests.peers import WebhookReceiver
from workflows.contracts import Notice
from workflows.errors import DubanError

EXAMPLE = Path(__file__).parents[2] / "deploy" / "examples" / "templates.yaml"


@pytest.fixture
async def imported(pool: asyncpg.Pool) -> AsyncIterator[None]:
    await templates.replace(pool, read_templates(EXAMPLE))
    yield
    await templates.replace(pool, {})  # other tests use the built-in texts


def test_an_unknown_field_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("warning: 'ok {title}'\nescalation: '{title} {owner}'\n", encoding="utf-8")
    with pytest.raises(DubanError) as info:
        read_templates(path)
    assert str(info.value).startswith(f"{path}:2: template 'escalation': unknown field {{owner}}")
    path.write_text("birthday: '{title}'\n", encoding="utf-8")
    with pytest.raises(DubanError, match="unknown notice kind 'birthday'"):
        read_templates(path)


async def test_a_notice_is_sent_in_the_office_s_words(
    pool: asyncpg.Pool, webhook: WebhookReceiver, imported: None
) -> None:
    missed = datetime.now(UTC) - timedelta(hours=5)
    notice = Notice(
        task_id=f"T-tpl-{uuid.uuid4().hex[:8]}",
        seq=4,
        title="完善行政执法协调机制",
        level=2,
        role="deputy_secretary_general",
        unit="区司法局",
        kind="escalation",
        text="built-in",
        facts={
            "role": "副秘书长",
            "window": "签收",
            "expected": "receipt (签收)",
            "answer_by": "2026-11-24 18:00",
            "window_deadline_iso": missed.isoformat(),
        },
    )
    notify = NotifyActivities(pool, {"webhook": WebhookChannel(webhook.url)}, "http://ui:8233")
    await notify.send_notice(notice)
    [sent] = webhook.for_task(notice.task_id)
    assert sent["text"].startswith("【督办】完善行政执法协调机制")
    assert "区司法局签收已于" in sent["text"] and "逾期 5 小时" in sent["text"]
    assert "现升级至副秘书长（第 2 级）" in sent["text"]
    assert f"http://ui:8233/namespaces/default/workflows/{notice.task_id}" in sent["text"]
    # A kind without a template keeps the built-in text.
    info = notice.model_copy(update={"kind": "info", "seq": 5})
    await notify.send_notice(info)
    assert [p["text"] for p in webhook.for_task(notice.task_id)][-1] == "built-in"
