"""No secret leaks (issue 13 §3): a channel URL's user, password and query reach no error
detail (the outbox, the outcome, Temporal's history) and no log line; a traceback in the log
carries no local variable and is masked as every line is."""

from __future__ import annotations

import io
import json
import logging
import socket
import uuid
from datetime import timedelta

import asyncpg
import pytest
import structlog
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.channels import WebhookChannel
from activities.notify import NotifyActivities
from tests.integration.test_notify import make_notice
from tests.peers import WebhookReceiver
from worker import logs
from workflows import activity_names
from workflows.contracts import NoticeBatch, NoticeOutcome

# The password and the token (not "secret" alone: deputy_secretary_general holds it).
SECRETS = ("topsecret", "abc123")


@workflow.defn(name="SecretsProbe")
class SecretsProbe:
    """Sends one batch as the task workflow does: a retry, then the outcomes."""

    @workflow.run
    async def run(self, batch: NoticeBatch) -> list[NoticeOutcome]:
        return await workflow.execute_activity(
            activity_names.SEND_NOTICES,
            batch,
            result_type=list[NoticeOutcome],
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), maximum_attempts=batch.attempts
            ),
        )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("peer", ["answers 500", "refuses the connection"])
async def test_a_channel_url_s_credentials_and_query_reach_no_record_and_no_log(
    ts_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    captured_log: io.StringIO,
    peer: str,
) -> None:
    with WebhookReceiver() as receiver:
        receiver.status_when_failing, receiver.fail_next = 500, 100
        port = receiver.server.server_address[1] if peer == "answers 500" else _closed_port()
        channel = WebhookChannel(f"http://user:topsecret@127.0.0.1:{port}/hook?token=abc123")
        notify = NotifyActivities(pool, {"webhook": channel})
        notice = make_notice()
        batch = NoticeBatch(notices=[notice], attempts=2)
        async with Worker(
            ts_env.client,
            task_queue=task_queue,
            workflows=[SecretsProbe],
            activities=[notify.send_notices],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await ts_env.client.start_workflow(
                SecretsProbe.run, batch, id=f"secrets-{uuid.uuid4()}", task_queue=task_queue
            )
            [outcome] = await handle.result()
            history = (await handle.fetch_history()).to_json()
        await channel.close()
    rows = await pool.fetch("SELECT * FROM notifications WHERE task_id = $1", notice.task_id)
    outbox = json.dumps([dict(r) for r in rows], default=str, ensure_ascii=False)
    log = captured_log.getvalue()

    # What it was is still said: the failure, and where it went, without the secrets.
    assert outcome.status == "failed" and rows[0]["status"] == "failed"  # given up
    said = "HTTP 500" if peer == "answers 500" else "ConnectError"
    assert said in outcome.detail and said in rows[0]["last_error"], outcome.detail
    if peer == "answers 500":
        assert f"http://***@127.0.0.1:{port}/hook?***" in outcome.detail
    assert "Completing activity as failed" in log and said in log  # the first attempt's
    for secret in SECRETS:
        assert secret not in outcome.detail
        assert secret not in outbox
        assert secret not in history
        assert secret not in log, [line for line in log.splitlines() if secret in line]


def _gateway_call(url: str) -> None:
    mobile = "13800000005"  # a person's, held in a local as any sender holds it
    token = "tok_5f1e9c2a7b"  # a gateway's key, likewise
    if mobile and token:
        raise ConnectionError(f"gateway down: POST {url}")


def test_a_traceback_in_the_log_has_no_locals_and_is_masked(captured_log: io.StringIO) -> None:
    try:
        _gateway_call("https://sms.example.cn/send?access_token=abc123")
    except ConnectionError:
        structlog.get_logger("duban.test").exception("notice not sent")
        logging.getLogger("temporalio.activity").warning(
            "Completing activity as failed", exc_info=True
        )
    lines = [json.loads(line) for line in captured_log.getvalue().splitlines()]
    assert len(lines) == 2
    for line in lines:
        [exc] = line["exception"]
        assert exc["exc_type"] == "ConnectionError"
        assert any(frame["name"] == "_gateway_call" for frame in exc["frames"])
        assert "https://sms.example.cn/send?***" in exc["exc_value"]  # masked, not dropped
        text = json.dumps(line, ensure_ascii=False)
        for secret in ("13800000005", "tok_5f1e9c2a7b", "abc123"):
            assert secret not in text, text


def test_a_traceback_on_a_terminal_is_masked_too() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    before = list(root.handlers)
    out = Terminal()
    logs.configure(stream=out)
    try:
        try:
            _gateway_call("http://u:topsecret@gw.example.cn/send?token=abc123")
        except ConnectionError:
            structlog.get_logger("duban.test").exception("notice not sent")
    finally:
        root.handlers[:] = before
    text = out.getvalue()
    assert "Traceback" in text and "_gateway_call" in text and "gw.example.cn" in text
    for secret in ("13800000005", "topsecret", "abc123"):
        assert secret not in text, text
