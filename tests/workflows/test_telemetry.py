"""What the people who run duban see: one trace per task down to SQL, metrics that move,
log lines bound to their task with contacts masked."""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request
from datetime import timedelta

import asyncpg
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from bench.stack import free_port
from tests.peers import WebhookReceiver
from tests.workflows.harness import at_level, eventually, finish, make_spec, running_worker, start
from worker import logs
from worker.main import connect
from worker.telemetry import configure_tracing, core_logging, runtime

EXPORTER = InMemorySpanExporter()


async def test_one_trace_runs_from_the_start_to_the_sql_of_the_first_escalation(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, webhook: WebhookReceiver
) -> None:
    configure_tracing(processor=SimpleSpanProcessor(EXPORTER))
    EXPORTER.clear()
    client = await connect(ts_env.client.service_client.config.target_host)
    spec = make_spec()
    async with running_worker(client, pool, task_queue, webhook.url):
        handle = await start(client, spec, task_queue)
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        await at_level(handle, 1)
        # From release 4 the escalation's notices go with its ledger write.
        await eventually(lambda: _span_named("RunActivity:ledger.record_and_notify"))
        await finish(handle)
    spans = EXPORTER.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    root = next(s for s in spans if s.name == "StartWorkflow:TaskWorkflow")
    mine = [s for s in spans if s.context.trace_id == root.context.trace_id]
    names = {s.name for s in mine}
    assert {
        "RunWorkflow:TaskWorkflow",
        "RunActivity:ledger.record_events",
        "RunActivity:ledger.record_and_notify",
        "INSERT task_events",
        "INSERT notifications",
    } <= names

    def ancestors(span: object) -> list[str]:
        chain = []
        while span is not None and span.parent is not None:  # type: ignore[attr-defined]
            span = by_id.get(span.parent.span_id)  # type: ignore[attr-defined]
            if span is not None:
                chain.append(span.name)  # type: ignore[attr-defined]
        return chain

    sql = next(s for s in mine if s.name == "INSERT task_events")
    assert "RunActivity:ledger.record_events" in ancestors(sql)
    assert ancestors(sql)[-1] == "StartWorkflow:TaskWorkflow"
    assert sql.attributes and sql.attributes["db.system"] == "postgresql"
    outbox = next(s for s in mine if s.name == "INSERT notifications")
    assert "RunActivity:ledger.record_and_notify" in ancestors(outbox)


async def _span_named(name: str) -> bool:
    return any(s.name == name for s in EXPORTER.get_finished_spans())


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


async def test_metrics_move_on_the_prometheus_endpoint(
    ts_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, webhook: WebhookReceiver
) -> None:
    port = free_port()
    rt = runtime(port)
    assert rt is not None
    client = await connect(ts_env.client.service_client.config.target_host, runtime=rt)
    spec = make_spec()
    async with running_worker(client, pool, task_queue, webhook.url):
        handle = await start(client, spec, task_queue)
        await ts_env.sleep(timedelta(hours=1, minutes=1))
        await at_level(handle, 1)

        async def scraped() -> str | None:
            text = _scrape(port)
            wanted = ("duban_tasks_started", "duban_escalations", "duban_notifications")
            return text if all(w in text for w in wanted) else None

        text = await eventually(scraped)
        await finish(handle)
    assert 'level="1"' in text and 'outcome="delivered"' in text
    assert "temporal_workflow_task_execution_latency" in text or "temporal_" in text


async def test_a_metrics_port_in_use_turns_metrics_off_not_the_worker() -> None:
    out = io.StringIO()
    logs.configure(stream=out)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))  # where the endpoint listens by default
        busy.listen()
        rt = runtime(busy.getsockname()[1])
    said = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [x["event"] for x in said] == ["metrics endpoint off: cannot listen"]
    # A runtime all the same, without the endpoint: the worker goes on, its core's lines
    # still forwarded to the log.
    assert rt.metric_meter is not None


def test_the_sdk_core_s_own_lines_go_through_the_same_renderer() -> None:
    out = io.StringIO()
    logs.configure(stream=out)
    config = core_logging()
    assert config.forwarding is not None
    # What the core forwards arrives as a record of its logger, under temporalio.core.
    config.forwarding.logger.warning("Error polling: transport error (13800001234)")
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["logger"].startswith("temporalio.core") and line["level"] == "warning"
    assert "138****1234" in line["event"]  # masked as every line is


def test_log_lines_are_json_bound_and_masked() -> None:
    import structlog

    out = io.StringIO()
    logs.configure(stream=out)
    with structlog.contextvars.bound_contextvars(task_id="T-1", activity="notify.send_notice"):
        structlog.get_logger("duban.test").warning(
            "sent",
            to="zhang.san@example.gov.cn",
            mobile="13812345678",
            url="https://oapi.dingtalk.com/robot/send?access_token=abcdef123456",
            database_url="postgresql://duban:s3cret@db/duban",
        )
    logging.getLogger("temporalio.test").warning("call 13987654321 about %s", "li.si@example.cn")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    first, second = lines
    assert first["task_id"] == "T-1" and first["activity"] == "notify.send_notice"
    text = out.getvalue()
    for secret in ("zhang.san@", "13812345678", "abcdef123456", "s3cret", "13987654321", "li.si@"):
        assert secret not in text
    assert "138****5678" in text and second["event"].startswith("call 139****4321")
