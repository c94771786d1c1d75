"""Run `duban up` and the `duban` command line as a user would, as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.stack import free_ports

DUBAN = str(Path(sys.executable).parent / "duban")


class Stack:
    """`duban up` in its own data directory, on free ports."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, **env}
        self.env.pop("TEMPORAL_ADDRESS", None)
        self.env.pop("DUBAN_DATABASE_URL", None)
        self.ui_port, self.temporal_port, self.http_port = free_ports(3)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        log = (self.data_dir.parent / f"{self.data_dir.name}-up.log").open("ab")
        self.process = subprocess.Popen(
            [
                DUBAN,
                "up",
                "--data-dir",
                str(self.data_dir),
                "--temporal-port",
                str(self.temporal_port),
                "--ui-port",
                str(self.ui_port),
                "--http-port",
                str(self.http_port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not (self.data_dir / "stack.json").exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"duban up exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("duban up did not come up")
            time.sleep(0.2)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = self.process.wait(timeout=60)
        self.process = None
        return code

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def database_url(self) -> str:
        info: dict[str, Any] = json.loads((self.data_dir / "stack.json").read_text())
        return str(info["database_url"])

    @property
    def address(self) -> str:
        """Where its Temporal listens."""
        return f"127.0.0.1:{self.temporal_port}"

    def duban(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DUBAN, *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    def ok(self, *args: str) -> str:
        done = self.duban(*args)
        assert done.returncode == 0, f"duban {' '.join(args)}: {done.stderr}"
        return done.stdout

    def show(self, task_id: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.ok("task", "show", task_id, "--json"))
        return result


def wait_for(check: Any, timeout: float = 90.0, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last: {value!r}")
        time.sleep(every)
