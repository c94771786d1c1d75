"""A running worker with the real activities for each workflow test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.peers import WebhookReceiver
from tests.workflows.harness import running_worker, start
from workflows.contracts import TaskSpec


@dataclass
class World:
    """The time-skipping server, the ledger and the webhook peer, with a worker polling."""

    env: WorkflowEnvironment
    pool: asyncpg.Pool
    webhook: WebhookReceiver
    task_queue: str

    async def start(self, spec: TaskSpec) -> WorkflowHandle[Any, Any]:
        return await start(self.env.client, spec, self.task_queue)


@pytest.fixture
async def world(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, webhook: WebhookReceiver
) -> AsyncIterator[World]:
    async with running_worker(ts_env.client, pool, task_queue, webhook.url):
        yield World(ts_env, pool, webhook, task_queue)
