"""The metrics endpoint (DUBAN_METRICS_PORT) listens on loopback unless DUBAN_METRICS_HOST
says otherwise (issue 13 §3): what Prometheus scrapes is not for every network."""

from __future__ import annotations

import os
import socket
import time

import psutil
import pytest

from worker.settings import Settings
from worker.telemetry import runtime


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> set[str]:
    """The addresses this process listens on at `port`, once its runtime has bound it."""
    me = psutil.Process(os.getpid())
    for _ in range(50):
        found = {
            c.laddr.ip
            for c in me.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        if found:
            return found
        time.sleep(0.1)
    return set()


def test_the_metrics_endpoint_listens_on_loopback_unless_told() -> None:
    port = _closed_port()
    loopback = runtime(port)
    assert loopback is not None
    assert _listening(port) == {"127.0.0.1"}
    other = _closed_port()
    everywhere = runtime(other, "0.0.0.0")  # DUBAN_METRICS_HOST=0.0.0.0
    assert everywhere is not None
    assert _listening(other) == {"0.0.0.0"}


def test_the_metrics_host_setting_defaults_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().metrics_host == "127.0.0.1"
    monkeypatch.setenv("DUBAN_METRICS_HOST", "0.0.0.0")
    assert Settings().metrics_host == "0.0.0.0"
