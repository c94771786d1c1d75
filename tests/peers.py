"""Real peers on loopback for tests: an HTTP receiver that records every POST, and the
server a test's own peer stands on (LoopbackPeer)."""

from __future__ import annotations

import json
import threading
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1; `fail_next` makes it answer 503 that many times."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_next = 0
        self.status_when_failing = 503
        self.reply = b"ok"  # what a 200 carries: robots answer {"errcode": 0}
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
                    payload["_path"] = self.path
                    payload["_authorization"] = self.headers.get("Authorization")
                    receiver.received.append(payload)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(receiver.reply)

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
            return [p for p in self.received if p.get("task_id") == task_id]

    def containing(self, text: str) -> list[dict[str, Any]]:
        """Payloads whose JSON mentions `text` (robots carry no task id field)."""
        with self._lock:
            return [p for p in self.received if text in json.dumps(p, ensure_ascii=False)]


class SmtpPeer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        peer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                from email import message_from_bytes, policy

                message = message_from_bytes(envelope.content, policy=policy.default)
                peer.messages.append((envelope.rcpt_tos, message))
                return "250 Message accepted"

        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpPeer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class LoopbackPeer:
    """A real HTTP server on 127.0.0.1 whose every POST is answered by `answer`: a test's
    own peer says what it does with a request (delay it, hold it, refuse it, keep its key),
    and this runs the server. Closing it sets `release`, so a held request lets go."""

    def __init__(self) -> None:
        self.release = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, reply = peer.answer(self.headers, body)
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the sender gave up waiting (a killed worker, a cancelled attempt)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, headers: Message, body: bytes) -> tuple[int, bytes]:
        """The status and body to answer a POST with (the request is already read)."""
        raise NotImplementedError

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
