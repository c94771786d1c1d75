"""What `duban up` prints: its banner first, no pgserver INFO line before it, the channels
that are on."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Stack, wait_for
from tests.peers import WebhookReceiver

pytestmark = pytest.mark.e2e


def test_the_banner_comes_first_and_names_the_channels(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    log = stack.data_dir.parent / f"{stack.data_dir.name}-up.log"

    def printed() -> str | None:
        text = log.read_text(encoding="utf-8")
        return text if "  Stop            : Ctrl-C" in text else None

    text: str = wait_for(printed)
    before, _, banner = text.partition("duban is up.")
    assert banner, text
    assert "pgserver" not in before and "initdb" not in before and "pg_ctl" not in before
    assert f"  Channels        : Webhook ({receiver.url}) (webhook" not in banner
    assert f"  Channels        : Webhook ({receiver.url})\n" in banner
    assert "  Weekly digest   : schedule duban-weekly-digest: " in banner
    assert "pg_ctl" in (stack.data_dir / "pgserver.log").read_text(encoding="utf-8")
