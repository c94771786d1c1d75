"""The issue's "done when", as a user does it: `duban up` serves the HTTP API beside the
worker, `duban token issue` gives a clerk a token, the clerk signs the demo task with it,
and a clerk of another unit is refused with 403 and nothing changes."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.stack import free_port
from tests.e2e.stack import DUBAN, Stack, wait_for

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).parents[2] / "deploy" / "examples"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("http-up") / "data", {})
    stack.start()
    yield stack
    if stack.process is not None:
        code = stack.stop()
        assert code == 0, f"duban up exited with {code}:\n{_up_log(stack)[-4000:]}"


def _answer(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _up_log(up: Stack) -> str:
    return (up.data_dir.parent / f"{up.data_dir.name}-up.log").read_text(encoding="utf-8")


def _ready(up: Stack) -> None:
    """The stack's HTTP API answers /readyz; else the failure shows what `duban up` said."""
    try:
        wait_for(lambda: _answer(f"{up.http_url}/readyz"), timeout=180)
    except AssertionError as err:
        raise AssertionError(f"{err}; duban up said:\n{_up_log(up)[-4000:]}") from None


def test_a_clerk_signs_with_a_token_and_another_units_clerk_is_refused(up: Stack) -> None:
    _ready(up)
    log = _up_log(up)
    assert f"  HTTP API        : {up.http_url} (docs at /docs)\n" in log
    assert "uvicorn" not in log.partition("duban is up.")[0]  # the banner comes first
    assert httpx.get(f"{up.http_url}/docs").status_code == 200

    up.ok("directory", "import", str(EXAMPLES / "directory.yaml"))
    task_id = up.ok("task", "start", str(EXAMPLES / "demo-task.yaml")).strip()
    issued = up.duban("token", "issue", "chen.yi", "--days", "7", "--name", "陈一的电脑")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert issued.stdout.count("\n") == 1 and token.startswith("dbn_")
    assert "shown only now" in issued.stderr and token not in issued.stderr
    other = up.ok("token", "issue", "lin.er").strip()

    def post(word: str, bearer: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.post(
            f"{up.http_url}/api/tasks/{task_id}/{word}",
            headers={"Authorization": f"Bearer {bearer}"},
            json=body or {},
            timeout=30,
        )

    signed = post("receive", token)
    assert signed.status_code == 200, signed.text
    assert signed.json()["stage"] == "received"

    def history() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(up.ok("task", "history", task_id, "--json"))
        return rows

    received = wait_for(lambda: [r for r in history() if r["kind"] == "received"])
    assert (received[0]["actor"], received[0]["role"], received[0]["via"]) == (
        "chen.yi",
        "member",
        "api",
    )
    before = history()
    refused = post("deploy", other)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": f"lin.er无权报送部署情况：任务 {task_id} "
        "只有区司法局主要负责人或经办人可以报送部署情况"
    }
    assert history() == before
    assert up.show(task_id)["stage"] == "received"

    listed = up.ok("token", "list", "chen.yi")
    token_id = token.split("_")[1]
    assert token_id in listed and "valid" in listed and "陈一的电脑" in listed
    assert "lin.er" not in listed
    assert up.ok("token", "revoke", token_id).startswith(f"token {token_id} of chen.yi revoked")
    after = post("deploy", token)
    assert after.status_code == 401 and after.json() == {"error": f"token {token_id} is revoked"}
    unknown = up.duban("token", "issue", "no.body")
    assert unknown.returncode == 1
    assert unknown.stderr == "duban: no person 'no.body' in the directory\n"


def test_duban_serve_alone_beside_a_running_stack(up: Stack) -> None:
    port = free_port()
    serve = subprocess.Popen(
        [DUBAN, "serve", "--port", str(port), "--data-dir", str(up.data_dir)],
        env=up.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        _ready(up)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: serve.poll() is not None or _answer(f"{url}/readyz"), timeout=180)
        if serve.poll() is not None:
            said = serve.communicate(timeout=30)[0].decode()
            raise AssertionError(f"duban serve exited with {serve.returncode}:\n{said[-4000:]}")
        ready = httpx.get(f"{url}/readyz", timeout=5)
        assert ready.json() == {"status": "ready", "temporal": "ok", "postgresql": "ok"}
        refused = httpx.get(f"{url}/api/tasks", timeout=5)
        assert refused.status_code == 401
    finally:
        serve.send_signal(signal.SIGINT)
        output = serve.communicate(timeout=30)[0].decode()
    assert serve.returncode == 0, output
