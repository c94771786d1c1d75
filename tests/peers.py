"""Real peers on loopback for tests: an HTTP receiver that records every POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1; `fail_next` makes it answer 503 that many times."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.status_when_failing = 503
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        self.send_response(receiver.status_when_failing)
                        self.end_headers()
                        return
                    payload = json.loads(body)
                    payload["_idempotency_header"] = self.headers.get("Idempotency-Key")
                    receiver.received.append(payload)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def for_task(self, task_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.received if p["task_id"] == task_id]
