"""The HTTP API through the real stack: Temporal's dev server, PostgreSQL (pgserver), a
worker with the real activities, and `duban serve`'s app on uvicorn on a free loopback
port, called with httpx as any client would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities import directory as store
from activities import identity
from activities.directory import Person
from bench.stack import free_port
from starter.directoryfile import add_leave, read_directory
from starter.http.app import create_app
from starter.http.server import beside
from starter.http.settings import HttpSettings
from tests.conftest import venv_binary
from tests.unit.test_directory import EXAMPLE
from worker.client import DATA_CONVERTER
from worker.main import build_worker
from worker.settings import Settings
from workflows.contracts import SEARCH_ATTRIBUTES, TaskState
from workflows.task import TaskWorkflow

# Windows long enough that nothing climbs during a test, unless a test asks for it.
CALM = {
    "name": "calm",
    "windows": {
        "receive": "1h",
        "deploy": "1h",
        "plan": "1h",
        "progress": "1h",
        "stage_every": "1h",
        "verify": "1h",
    },
    "escalation": [
        {"level": "lead_unit", "answer_within": "1h"},
        {"level": "deputy_secretary_general", "answer_within": "1h"},
        {"level": "principal_leader", "answer_within": "1h"},
    ],
    "quiet_hours": False,
    "test_mode": True,
}
# A receipt missed in seconds and the lead unit's answer window a few seconds: long enough
# for a test's calls at level 1 on a loaded machine, short enough to climb to level 2. No
# test waits out level 2, so its window is long and a slow test cannot climb past it.
FAST = {
    **CALM,
    "name": "fast",
    "test_mode": True,  # seconds, for a test
    "windows": {**CALM["windows"], "receive": "2s"},  # type: ignore[dict-item]
    "escalation": [
        {"level": "lead_unit", "answer_within": "6s"},
        {"level": "deputy_secretary_general", "answer_within": "1h"},
        {"level": "principal_leader", "answer_within": "1h"},
    ],
}


def task_fields(policy: dict[str, Any] | str = CALM, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": f"T-http-{uuid.uuid4().hex[:10]}",
        "title": "完善行政执法协调机制",
        "source": "区政府常务会议纪要〔2026〕12号",
        "assigning_unit": "区政府办公室",
        "lead_unit": "区司法局",
        "co_units": ["区财政局", "区人社局"],
        "standard": "形成协调办法并印发",
        "policy": policy,
    }
    values.update(fields)
    return values


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=list(SEARCH_ATTRIBUTES),
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def people(pool: asyncpg.Pool) -> AsyncIterator[store.Directory]:
    """The example directory; zhao.liu (deputy secretary-general) is away until next
    month and qian.qi stands in; ma.yi heads and works for 区教育局, on no test task."""
    d = read_directory(EXAMPLE)
    d.absences.clear()
    today = date.today()
    leave = {
        "person": "zhao.liu",
        "from": today - timedelta(days=1),
        "to": today + timedelta(days=30),
        "stand_in": "qian.qi",
    }
    add_leave(d, "leave", leave)
    d.people["ma.yi"] = Person("ma.yi", "马一", mobile="13800000011")
    d.units.add("区教育局")
    d.holders[("unit_head", "区教育局")] = "ma.yi"
    d.members.add(("member", "区教育局", "ma.yi"))
    await store.replace(pool, d)
    yield d
    await store.replace(pool, store.Directory())


@dataclass
class Api:
    """The service on loopback, with a token per person and a look into the ledger."""

    url: str
    pool: asyncpg.Pool
    client: Client
    tokens: dict[str, str]

    async def token(self, person: str, days: int = 30, now: datetime | None = None) -> str:
        token, _ = await identity.issue(self.pool, person, days, "test", now or datetime.now(UTC))
        return token

    async def as_(self, person: str) -> dict[str, str]:
        if person not in self.tokens:
            self.tokens[person] = await self.token(person)
        return {"Authorization": f"Bearer {self.tokens[person]}"}

    async def call(
        self, method: str, path: str, person: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if person is not None:
            headers.update(await self.as_(person))
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            return await http.request(method, path, headers=headers, **kwargs)

    async def start(self, **fields: Any) -> str:
        answer = await self.call("POST", "/api/tasks", "he.shan", json=task_fields(**fields))
        assert answer.status_code == 201, answer.text
        task_id: str = answer.json()["id"]
        return task_id

    async def ledger(self, task_id: str) -> list[dict[str, Any]]:
        """The task's ledger rows once the workflow has recorded every event it has."""
        for _ in range(200):
            if not (await self.state(task_id)).unrecorded:
                break
            await asyncio.sleep(0.05)
        rows = await self.pool.fetch(
            "SELECT seq, kind, unit, actor, role, via, stand_in_for FROM task_events "
            "WHERE task_id = $1 ORDER BY seq",
            task_id,
        )
        return [dict(r) for r in rows]

    async def row(self, task_id: str, answer: httpx.Response) -> dict[str, Any]:
        """The ledger row of the event a message's answer names."""
        assert answer.status_code == 200, answer.text
        seq = answer.json()["seq"]
        return next(r for r in await self.ledger(task_id) if r["seq"] == seq)

    async def state(self, task_id: str) -> TaskState:
        handle = self.client.get_workflow_handle(task_id)
        result: TaskState = await handle.query(TaskWorkflow.status)
        return result


@pytest.fixture
async def serve(
    dev_env: WorkflowEnvironment, pool: asyncpg.Pool, pg_url: str
) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """Start the app (and a worker on a fresh task queue); settings may be changed."""
    import contextlib

    async with contextlib.AsyncExitStack() as stack:

        async def start(settings: HttpSettings | None = None, connect: Any = None) -> Api:
            task_queue = f"tq-{uuid.uuid4()}"
            worker = build_worker(dev_env.client, pool, Settings(task_queue=task_queue))
            await stack.enter_async_context(worker)

            async def same_client() -> Client:
                return dev_env.client

            app = create_app(settings or HttpSettings(), connect or same_client, pg_url, task_queue)
            url = await stack.enter_async_context(beside(app, "127.0.0.1", free_port()))
            return Api(url, pool, dev_env.client, {})

        yield start


@pytest.fixture
async def api(serve: Callable[..., Awaitable[Api]], people: store.Directory) -> Api:
    return await serve()
