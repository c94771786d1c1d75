"""Where a side's workers run while a scenario measures it.

`IN_PROCESS`, every scenario's default: one worker in the bench's own process, duban's as
`python -m worker` builds it (bench.tasks.duban_worker), the bare one beside it.

`Processes(k)`: k processes of the production command on the one task queue, duban's
`python -m worker` and the bare `python -m bench.bare_worker`, each with its own
interpreter, pool and log (worker-<queue>-<i>.log in the stack's directory); entered once
every one of them polls the queue for workflow and activity tasks, as Temporal reports its
pollers, so a scenario's clock never counts a process starting.

The bare starts scenario counts each no-op activity when it runs (bench.bare_worker.RAN);
a process of its own writes what it ran to a file, and the bench reads those back. Either
way `bare()` yields the same thing: when each key's no-op ran."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any, Protocol

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from bench import bare_worker
from bench.stack import Stack
from bench.tasks import bare, duban_worker

# When each bare no-op ran, by key (epoch seconds).
Ran = Callable[[], dict[str, float]]


class Fleet(Protocol):
    """How many workers a side has, and where."""

    @property
    def label(self) -> str: ...

    def duban(
        self, stack: Stack, queue: str, **settings: Any
    ) -> AbstractAsyncContextManager[None]: ...

    def bare(self, stack: Stack, queue: str) -> AbstractAsyncContextManager[Ran]: ...


@dataclass(frozen=True)
class InProcess:
    label: str = "in the bench's process"

    @contextlib.asynccontextmanager
    async def duban(self, stack: Stack, queue: str, **settings: Any) -> AsyncIterator[None]:
        async with duban_worker(stack, queue, **settings):
            yield

    @contextlib.asynccontextmanager
    async def bare(self, stack: Stack, queue: str) -> AsyncIterator[Ran]:
        async with bare(stack, queue):
            yield lambda: dict(bare_worker.RAN)


IN_PROCESS = InProcess()


def _env_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, time) else str(value)


@dataclass(frozen=True)
class Processes:
    count: int

    @property
    def label(self) -> str:
        return f"{self.count} process(es)"

    @contextlib.asynccontextmanager
    async def duban(self, stack: Stack, queue: str, **settings: Any) -> AsyncIterator[None]:
        env = {
            "TEMPORAL_ADDRESS": stack.address,
            "DUBAN_DATABASE_URL": stack.database_url,
            "DUBAN_TASK_QUEUE": queue,
            "DUBAN_WEBHOOK_URL": stack.webhook_url,
            **{f"DUBAN_{name.upper()}": _env_value(v) for name, v in settings.items()},
        }
        command = [sys.executable, "-m", "worker"]
        async with _processes(stack, queue, [command] * self.count, env):
            yield

    @contextlib.asynccontextmanager
    async def bare(self, stack: Stack, queue: str) -> AsyncIterator[Ran]:
        files = [stack.directory / f"ran-{queue}-{i}.tsv" for i in range(self.count)]
        commands = [
            [
                sys.executable,
                "-m",
                "bench.bare_worker",
                stack.address,
                queue,
                stack.database_url,
                str(f),
            ]
            for f in files
        ]
        async with _processes(stack, queue, commands, {}):
            yield lambda: read_ran(files)


def read_ran(files: list[Path]) -> dict[str, float]:
    """What the bare worker processes have written so far (bench.bare_worker.flush_ran)."""
    ran: dict[str, float] = {}
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            for line in path.read_text().splitlines():
                key, _, at = line.partition("\t")
                if at:  # a line being written has no tab yet, or no time
                    with contextlib.suppress(ValueError):
                        ran[key] = float(at)
    return ran


@contextlib.asynccontextmanager
async def _processes(
    stack: Stack, queue: str, commands: list[list[str]], env: dict[str, str]
) -> AsyncIterator[list[int]]:
    children: list[asyncio.subprocess.Process] = []
    with contextlib.ExitStack() as logs:
        try:
            for i, command in enumerate(commands):
                log = logs.enter_context((stack.directory / f"worker-{queue}-{i}.log").open("ab"))
                children.append(
                    await asyncio.create_subprocess_exec(
                        *command, stdout=log, stderr=log, env={**os.environ, **env}
                    )
                )
            await polling(stack, queue, children)
            yield [c.pid for c in children]
        finally:
            await asyncio.gather(*(_stop(c) for c in children))


async def _stop(child: asyncio.subprocess.Process) -> None:
    """SIGTERM, as a deploy stops a worker: it finishes what it holds and exits."""
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), 60)
    except TimeoutError:
        child.kill()
        await child.wait()


async def polling(
    stack: Stack, queue: str, children: list[asyncio.subprocess.Process], timeout: float = 120
) -> None:
    """Until every child polls the queue for workflow and activity tasks: a client's
    identity is `<pid>@<host>` unless set, and neither worker sets it."""
    wanted = {f"{c.pid}@" for c in children}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    kinds = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    while True:
        for c in children:
            if c.returncode is not None:
                raise RuntimeError(
                    f"a worker for {queue} exited with {c.returncode} (see worker-{queue}-*.log)"
                )
        seen = []
        for kind in kinds:
            described = await stack.client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=stack.client.namespace,
                    task_queue=TaskQueue(name=queue),
                    task_queue_type=kind,
                )
            )
            seen.append({p.identity.split("@", 1)[0] + "@" for p in described.pollers})
        if all(wanted <= s for s in seen):
            return
        if loop.time() > deadline:
            raise RuntimeError(f"the workers for {queue} did not poll within {timeout:.0f}s")
        await asyncio.sleep(0.25)
