"""One `duban up` for the end-to-end tests, with a webhook peer on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack
from tests.peers import WebhookReceiver


@pytest.fixture(scope="session")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("e2e")
    s = Stack(root / "data", {"DUBAN_WEBHOOK_URL": receiver.url})
    s.start()
    yield s
    if s.process is not None:
        assert s.stop() == 0
