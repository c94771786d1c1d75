"""A worker killed (SIGKILL) after a notice reached the peer but before the outbox recorded
it: the outbox row says `sending` (the peer may have it); the retry on another worker sends
the same idempotency key, so the peer, deduplicating on it as SMS gateways and webhooks do,
delivers once; the outbox then says delivered, not flagged a possible duplicate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import Message
from typing import Any

import asyncpg
import pytest
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import SEARCH_ATTRIBUTES, venv_binary
from tests.peers import LoopbackPeer
from tests.policies import HOURLY
from tests.workflows.harness import (
    activities_closed,
    eventually,
    make_spec,
    running_worker,
    start,
)
from worker.client import DATA_CONVERTER


class StallingPeer(LoopbackPeer):
    """Keeps every request; stalls the first one; delivers each idempotency key once."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.delivered: dict[str, dict[str, Any]] = {}
        self.stall_first = threading.Event()
        super().__init__()

    def answer(self, headers: Message, body: bytes) -> tuple[int, bytes]:
        payload = json.loads(body)
        self.requests.append(payload)
        if len(self.requests) == 1:
            self.stall_first.set()
            self.release.wait(60)  # the worker is killed while waiting for this answer
        self.delivered.setdefault(headers["Idempotency-Key"], payload)
        return 200, b"ok"


@pytest.fixture
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this test's own: a killed worker leaves a server's clock
    and sticky queues in a state no other test should inherit."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace="default", search_attributes=SEARCH_ATTRIBUTES)
    )
    yield env
    await env.shutdown()


async def test_a_killed_worker_sends_nothing_twice(
    own_server: WorkflowEnvironment, pool: asyncpg.Pool, pg_url: str, task_queue: str
) -> None:
    ts_env = own_server
    peer = StallingPeer()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
        "DUBAN_DATABASE_URL": pg_url,
        "DUBAN_WEBHOOK_URL": peer.url,
        "DUBAN_TASK_QUEUE": task_queue,
    }
    first = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # One notice only: no co-units to copy, and no early warning (the window opens
        # inside the margin).
        quiet = HOURLY.model_copy(update={"warning_margin": "2h"})
        spec = make_spec(policy=quiet, co_units=[])
        handle = await start(ts_env.client, spec, task_queue)
        # The receipt is missed; the server's clock moves on while we watch the peer.
        skipping = asyncio.create_task(ts_env.sleep(timedelta(hours=1, minutes=1)))
        await eventually(lambda: _true(peer.stall_first.is_set()), timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)  # while the peer holds its answer back
        first.wait()
    skipping.cancel()  # it waits on the dead worker's activity; the retry frees the clock
    with contextlib.suppress(BaseException):
        await skipping
    assert len(peer.delivered) == 0  # the peer has the request, the outbox does not know
    row = await pool.fetchrow("SELECT status FROM notifications WHERE task_id = $1", spec.id)
    assert row is not None and row["status"] == "sending"  # the peer may have it

    async with running_worker(ts_env.client, pool, task_queue, peer.url):
        # The activity times out on the dead worker and is retried here, with the same key.
        await eventually(lambda: _delivered(pool, spec.id), timeout=120)
        # (No query here: the test server keeps routing queries to the dead worker's
        # sticky queue.) The ledger, written by this worker, shows the climb went on.
        await eventually(lambda: _escalation_recorded(pool, spec.id), timeout=60)
        await eventually(lambda: activities_closed(handle), timeout=60)
        await handle.terminate()
    assert len(peer.requests) == 2 and len(peer.delivered) == 1  # sent twice, delivered once
    flagged = await pool.fetchval(
        "SELECT possible_duplicate FROM notifications WHERE task_id = $1", spec.id
    )
    assert flagged is False  # the webhook deduplicates on the key: nobody saw it twice
    peer.close()


async def _true(value: bool) -> bool:
    return value


async def _escalation_recorded(pool: asyncpg.Pool, task_id: str) -> bool:
    row = await pool.fetchrow("SELECT escalation_level FROM tasks WHERE id = $1", task_id)
    return row is not None and row["escalation_level"] == 1


async def _delivered(pool: asyncpg.Pool, task_id: str) -> bool:
    row = await pool.fetchrow("SELECT status FROM notifications WHERE task_id = $1", task_id)
    return row is not None and row["status"] == "delivered"
