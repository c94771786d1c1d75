"""A running worker with the real activities for each workflow test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.peers import WebhookReceiver
from tests.workflows.harness import finish, running_worker, start
from workflows.contracts import TaskSpec


@dataclass
class World:
    """The time-skipping server, the ledger and the webhook peer, with a worker polling."""

    env: WorkflowEnvironment
    pool: asyncpg.Pool
    webhook: WebhookReceiver
    task_queue: str
    started: list[WorkflowHandle[Any, Any]] = field(default_factory=list)

    async def start(self, spec: TaskSpec) -> WorkflowHandle[Any, Any]:
        handle = await start(self.env.client, spec, self.task_queue)
        self.started.append(handle)
        return handle

    async def leave_nothing_running(self) -> None:
        """A failed test must not leave its workflow running: it would hold the shared
        time-skipping clock and time out the next test's sleeps."""
        for handle in self.started:
            with contextlib.suppress(Exception):
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await finish(handle)


@pytest.fixture
async def world(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, webhook: WebhookReceiver
) -> AsyncIterator[World]:
    async with running_worker(ts_env.client, pool, task_queue, webhook.url):
        world = World(ts_env, pool, webhook, task_queue)
        yield world
        await world.leave_nothing_running()
