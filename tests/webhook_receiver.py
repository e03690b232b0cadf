"""A real HTTP webhook receiver on 127.0.0.1 for the push suites (D14): records every POST
and answers from a script of ``(status, delay)`` (200 at once when the script is empty)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server saw, and what it will answer next."""

    url: str = ""
    script: list[tuple[int, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, request: Received) -> tuple[int, float]:
        with self.lock:
            self.received.append(request)
            return self.script.pop(0) if self.script else (200, 0.0)

    def documents(self) -> list[Any]:
        with self.lock:
            return [r.document for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        """The documents, once at least ``count`` arrived (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.documents()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request (a SIGKILL): nothing came
                self.close_connection = True
                return
            request = Received(self.path, dict(self.headers.items()), body)
            status, delay = receiver.next_answer(request)
            time.sleep(delay)
            with contextlib.suppress(OSError):  # the sender may have given up (timeout)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def receiving(*script: tuple[int, float], port: int = 0) -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 until the block ends."""
    receiver = Receiver(script=list(script))
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/xbs/status/webhook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
