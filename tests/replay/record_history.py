"""Record histories of TaskWorkflow for the replay tests: `python -m tests.replay.record_history`.

Run it when a release changes workflow logic, before the change, and commit the files: the
replay test then proves the new code still replays every recorded life of a task. Files
already recorded are kept (they are the older releases' histories); pass names to record
again on purpose. A name may carry a tag after `@` (`procedure@release-1`): the same
scenario, recorded as a new file under a later release's rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pgserver
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from activities.migrations import migrate
from tests.conftest import SEARCH_ATTRIBUTES, venv_binary
from tests.peers import WebhookReceiver
from tests.workflows.harness import OFFICE, at_level, make_spec, msg, running_worker, send, start
from worker.client import DATA_CONVERTER

# Recorded in the clear: the replay test replays each history as recorded and sealed.
PLAIN = dataclasses.replace(DATA_CONVERTER, payload_codec=None)

OUT = Path(__file__).parent / "histories"


async def record(name: str, env: WorkflowEnvironment, pool: asyncpg.Pool, url: str) -> None:
    queue = f"tq-record-{name}"
    spec = make_spec(id=f"T-history-{name.replace('@', '-')}")
    scenario = name.split("@")[0]
    async with running_worker(env.client, pool, queue, url):
        handle = await start(env.client, spec, queue)
        if scenario == "procedure":
            await send(handle, "receive", msg())
            await send(handle, "receive", msg(unit="区财政局"))
            await send(handle, "contribute", msg(unit="区财政局", text="已提供经费测算"))
            await send(handle, "difficulty", msg(text="部门职责交叉"))
            await send(handle, "answer_difficulty", msg(unit=OFFICE, decision="suspend"))
            await env.sleep(timedelta(hours=3))
            await send(handle, "resume", msg(unit=OFFICE, text="已明确职责"))
            await send(handle, "raise_urgency", msg(unit=OFFICE, urgency="important"))
            await env.sleep(timedelta(hours=1, minutes=5))
            await send(
                handle,
                "request_extension",
                msg(until=date.today() + timedelta(days=30), text="需征求意见"),
            )
            await send(handle, "decide_extension", msg(unit=OFFICE, decision="approve"))
            await send(handle, "disagree", msg(unit="区人社局", text="分工有分歧"))
            await env.sleep(timedelta(hours=2))
            await send(
                handle, "resolve", msg(unit=OFFICE, role="leader_in_charge", text="按牵头单位意见")
            )
            await send(handle, "deploy", msg())
            await send(handle, "report", msg(kind="plan", text="计划"))
            await send(handle, "report", msg(kind="completion", text="完成"))
            await send(handle, "verify", msg(unit=OFFICE))
        elif scenario == "climb-and-close":
            await env.sleep(timedelta(hours=1, minutes=1))
            await at_level(handle, 1)
            await send(handle, "ack", msg(role="lead_unit", text="已安排"))
            await env.sleep(timedelta(hours=1, minutes=5))
            await at_level(handle, 2)
            await send(handle, "receive", msg())
            await send(handle, "deploy", msg())
            await send(handle, "report", msg(kind="plan", text="计划"))
            await send(handle, "report", msg(kind="completion", text="完成"))
            await send(handle, "reject", msg(unit=OFFICE, text="缺少文号"))
            await send(handle, "report", msg(kind="completion", text="已补充"))
            await send(handle, "verify", msg(unit=OFFICE))
        else:
            await send(handle, "withdraw", msg(unit=OFFICE, text="任务调整"))
        await handle.result()
        history = await handle.fetch_history()
    (OUT / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
    print(f"recorded {name}: {len(history.events)} events")


SCENARIOS = ("climb-and-close", "withdrawn", "procedure")


async def main(names: list[str]) -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, WebhookReceiver() as hook:
        server = pgserver.get_server(Path(tmp), cleanup_mode="stop")
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_binary("temporal-test-server"),
            data_converter=PLAIN,
        )
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace="default", search_attributes=SEARCH_ATTRIBUTES)
        )
        async with asyncpg.create_pool(server.get_uri()) as pool:
            async with pool.acquire() as conn:
                await migrate(conn)
            for name in names:
                await record(name, env, pool, hook.url)
        await env.shutdown()
        server.cleanup()


if __name__ == "__main__":
    asked = sys.argv[1:] or [n for n in SCENARIOS if not (OUT / f"{n}.json").exists()]
    asyncio.run(main(asked))
