"""The fault suite's peers, in a process of their own: a webhook receiver that delivers each
idempotency key once (as SMS gateways and well-made webhooks do) and a WeCom-style robot
that keeps every message it gets (robots carry no key). A control port takes the webhook
down and back: answering 503, or unreachable (new connections refused, kept-alive ones
cut without an answer). GET /stats on the control port says
what each got.

    python -m bench.faults.receivers HOOK_PORT ROBOT_PORT CONTROL_PORT
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# An action link's token, as the outbox hides it (activities.links.masked).
_TOKEN = re.compile(r"(/a/)[A-Za-z0-9_-]+")


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hook_mode = "up"  # up | 503 | refuse
        self.hook_posts = 0
        self.hook_keys: dict[str, int] = {}  # key -> requests carrying it
        self.hook_first: dict[str, float] = {}  # key -> when it was delivered
        self.hook_refused = 0  # 503s answered
        self.hook_cut = 0  # requests on a kept-alive connection cut while unreachable
        self.robot_posts = 0
        self.robot_texts: dict[str, int] = {}  # the text (token hidden) -> times received

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "hook": {
                    "mode": self.hook_mode,
                    "posts": self.hook_posts,
                    "answered_503": self.hook_refused,
                    "cut": self.hook_cut,
                    "keys": dict(self.hook_keys),
                    "first": dict(self.hook_first),
                },
                "robot": {"posts": self.robot_posts, "texts": dict(self.robot_texts)},
            }


STATE = State()


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        key = self.headers.get("Idempotency-Key") or ""
        with STATE.lock:
            if STATE.hook_mode == "refuse":  # a connection kept alive from before: cut
                STATE.hook_cut += 1
                self.close_connection = True
                return
            if STATE.hook_mode == "503":
                STATE.hook_refused += 1
                status = 503
            else:
                STATE.hook_posts += 1
                STATE.hook_keys[key] = STATE.hook_keys.get(key, 0) + 1
                STATE.hook_first.setdefault(key, time.time())
                status = 200
        _reply(self, status, b'{"ok": true}' if status == 200 else b'{"busy": true}')

    def log_message(self, *args: object) -> None:
        pass


class Robot(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        text = _TOKEN.sub(r"\1***", str(body.get("text", {}).get("content", "")))
        with STATE.lock:
            STATE.robot_posts += 1
            STATE.robot_texts[text] = STATE.robot_texts.get(text, 0) + 1
        _reply(self, 200, b'{"errcode": 0, "errmsg": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


class HookServer:
    """The webhook's listening socket, which `refuse` closes and `up` opens again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.open()

    def open(self) -> None:
        if self.server is None:
            self.server = _serve(self.port, Hook)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _serve(port: int, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def control(hook: HookServer) -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            _reply(self, 200, json.dumps(STATE.stats()).encode())

        def do_POST(self) -> None:
            mode = parse_qs(urlsplit(self.path).query).get("hook", ["up"])[0]
            with STATE.lock:
                STATE.hook_mode = mode
            if mode == "refuse":
                hook.close()
            else:
                hook.open()
            _reply(self, 200, b"{}")

        def log_message(self, *args: object) -> None:
            pass

    return Control


def main() -> None:
    hook_port, robot_port, control_port = (int(a) for a in sys.argv[1:4])
    hook = HookServer(hook_port)
    _serve(robot_port, Robot)
    server = ThreadingHTTPServer(("127.0.0.1", control_port), control(hook))
    server.serve_forever()


if __name__ == "__main__":
    main()
