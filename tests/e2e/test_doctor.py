"""A stuck workflow anywhere is a defect (issue 13 §1): a workflow task that fails, an
activity past its tenth attempt. The worker logs each once (task id, what, attempt, the
error's first line), `duban_stuck_tasks` counts them, and `duban ops doctor` names them
with the reason, asking Temporal; mended or terminated, doctor says nothing is stuck.
Test-only workflows (tests/e2e/poisoned.py) on a worker of the test's own, beside the
stack of `duban up`, with the product's interceptor and gauge."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from bench.stack import free_port
from tests.e2e.poisoned import (
    MENDED,
    PoisonedActivity,
    PoisonedCode,
    PoisonedSignal,
    poisoned_write,
)
from tests.e2e.stack import DUBAN, Stack
from worker import logs
from worker.client import connect
from worker.interceptors import StuckWatch, WorkerInterceptor
from worker.metrics import publish_stuck_tasks
from worker.telemetry import runtime

pytestmark = pytest.mark.e2e


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 120.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last: {value!r}")
        await asyncio.sleep(0.3)


async def doctor(stack: Stack, task_queue: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        DUBAN,
        "ops",
        "doctor",
        "--data-dir",
        str(stack.data_dir),
        env={**stack.env, "DUBAN_TASK_QUEUE": task_queue},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def scrape(port: int) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    found = re.search(r"^duban_stuck_tasks(?:\{[^}]*\})? (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


@pytest.fixture
def log_lines() -> AsyncIterator[io.StringIO]:  # type: ignore[misc]
    """The process's log as JSON lines, put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    logs.configure(stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def stuck_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    return [r for r in rows if str(r.get("event", "")).startswith("task stuck")]


async def pending(client: Client, workflow_id: str) -> tuple[int, int]:
    """The workflow task's attempt and the highest pending activity attempt."""
    raw = (await client.get_workflow_handle(workflow_id).describe()).raw_description
    task = raw.pending_workflow_task.attempt if raw.HasField("pending_workflow_task") else 0
    return task, max((a.attempt for a in raw.pending_activities), default=0)


async def test_doctor_names_stuck_tasks_and_the_worker_logs_each_once(
    stack: Stack, log_lines: io.StringIO
) -> None:
    port = free_port()
    rt = runtime(port)
    assert rt is not None
    client = await connect(stack.address, runtime=rt)
    queue = f"tq-{uuid.uuid4()}"
    watch = StuckWatch()
    stop = asyncio.Event()
    gauge = asyncio.create_task(publish_stuck_tasks(client, watch, rt, stop, every=0.3))
    ids = {name: f"T-stuck-{name}-{uuid.uuid4().hex[:6]}" for name in ("code", "signal", "act")}
    MENDED["activity"] = False
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[PoisonedCode, PoisonedSignal, PoisonedActivity],
        activities=[poisoned_write],
        interceptors=[WorkerInterceptor(watch)],
    )
    try:
        async with worker:
            await client.start_workflow(PoisonedCode.run, id=ids["code"], task_queue=queue)
            signal = await client.start_workflow(
                PoisonedSignal.run, id=ids["signal"], task_queue=queue
            )
            await signal.signal(PoisonedSignal.poke)
            await client.start_workflow(PoisonedActivity.run, id=ids["act"], task_queue=queue)

            async def all_stuck() -> bool:
                code, sig, act = [await pending(client, ids[k]) for k in ("code", "signal", "act")]
                return code[0] > 2 and sig[0] > 2 and act[1] >= 14

            await eventually(all_stuck)
            code, out, err = await doctor(stack, queue)
            assert code == 1, (out, err)
            lines = out.splitlines()
            assert lines[0].startswith("temporal    ok (") and lines[1] == "postgresql  ok"
            assert lines[2] == "stuck       3 tasks"
            named = {line.split()[0]: line for line in lines[3:]}
            assert set(named) == set(ids.values())
            assert "PoisonedCode  workflow task failing (attempt " in named[ids["code"]]
            assert named[ids["code"]].endswith("ValueError: 测试：工作流代码出错")
            assert named[ids["signal"]].endswith("KeyError: '测试：信号处理出错'")
            assert "activity poisoned.write (attempt " in named[ids["act"]]
            assert named[ids["act"]].endswith("RuntimeError: 测试：写入失败 材料")
            assert err == "duban: 3 stuck tasks\n"
            assert await eventually(lambda: asyncio.to_thread(lambda: scrape(port) == 3))

            logged = {r["task_id"]: r for r in stuck_lines(log_lines)}
            assert len(stuck_lines(log_lines)) == 3 and set(logged) == set(ids.values())
            assert logged[ids["code"]]["error"] == "ValueError: 测试：工作流代码出错"
            assert logged[ids["act"]]["attempt"] >= 10
            assert logged[ids["act"]]["error"] == "RuntimeError: 测试：写入失败 材料"
            assert "activity poisoned.write" in logged[ids["act"]]["event"]
            assert all("第二行" not in r["error"] for r in logged.values())

            MENDED["activity"] = True
            assert await client.get_workflow_handle(ids["act"]).result() == "材料"
            for key in ("code", "signal"):
                await client.get_workflow_handle(ids[key]).terminate("测试结束")
            code, out, err = await doctor(stack, queue)
            assert (code, err) == (0, ""), (out, err)
            assert out.splitlines()[2] == "stuck       none"
            assert await eventually(lambda: asyncio.to_thread(lambda: scrape(port) == 0))
            assert len(stuck_lines(log_lines)) == 3  # each logged once, however often it failed
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await gauge
