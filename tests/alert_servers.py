"""Local alert endpoints for tests, bound to 127.0.0.1 and bounded in time: a webhook
server answering a scripted list of status codes (a 3xx with a ``Location``), an SMTP
sink (aiosmtpd), a port that refuses connections and one that never answers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from engine.alerts import AlertSettings, RetryPolicy, SmtpSettings

FAST = RetryPolicy(attempts=3, timeout_s=2.0, backoff_s=0.01, cap_s=0.02, sleep=lambda s: None)


@dataclass
class Webhook:
    """Requests received (path, JSON body; None for a GET) and the statuses still to
    answer (then 200); a 3xx answer carries ``location``."""

    url: str
    statuses: list[int]
    location: str = ""
    received: list[tuple[str, object]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)


@contextmanager
def webhook_server(statuses: list[int] | None = None, location: str = "") -> Iterator[Webhook]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_port}/hook"
    hook = Webhook(url, list(statuses or []), location)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def answer(self, body: object) -> None:
            with lock:
                hook.received.append((self.path, body))
                hook.content_types.append(self.headers.get("Content-Type", ""))
                status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", hook.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            size = min(int(self.headers.get("Content-Length", 0)), 1_000_000)
            self.answer(json.loads(self.rfile.read(size)))

        def do_GET(self) -> None:  # noqa: N802 (a followed 301/302/303 arrives as a GET)
            self.answer(None)

        def log_message(self, *args) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], object]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


def free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[int, list]]:
    """An SMTP sink on 127.0.0.1: its port and the (mail from, recipients, message) list."""
    sink, port = _Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield port, sink.messages
    finally:
        controller.stop()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the backlog) and never answers: a timeout."""
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def smtp_settings(port: int, **changes) -> SmtpSettings:
    values = {"host": "127.0.0.1", "port": port, "sender": "bench@example.com"}
    values |= {"recipients": ("ops@example.com", "me@example.org"), "starttls": False}
    return SmtpSettings(**(values | changes))


def settings(**values) -> AlertSettings:
    return AlertSettings(**({"policy": FAST} | values))


def wait_for(check, timeout: float = 60.0):
    """Poll ``check()`` until it returns something truthy (bounded); return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not done within {timeout} s")
