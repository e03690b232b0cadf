"""What the XBS endpoint knows of one answered request, for an observer (issue 14).

The endpoint fills a :class:`Trace` as it goes (references, and only the head of a large
body) and hands it to its observer after the answer is sent. Everything costly
(decoding, redaction, storage) is the observer's, off the request path.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from starlette.types import Scope

from xborder.api.errors import render_error
from xborder.api.gate import Admitted
from xborder.api.routes import Route
from xborder.security.errors import AuthenticationFailed, SecurityError

KEPT_BYTES = 16 * 1024
"""How much of a request body a trace keeps (the journal stores no more of it)."""


class Trace:
    """One request and its answer, as the endpoint saw them."""

    __slots__ = (
        "admitted",
        "answered_id",
        "body",
        "body_size",
        "content",
        "explanation",
        "finished",
        "headers",
        "method",
        "path",
        "plain",
        "query",
        "reason_code",
        "request_id",
        "response_headers",
        "route",
        "started",
        "status",
    )

    def __init__(self, started: float) -> None:
        self.started = started  # time.perf_counter() when the request arrived
        self.route: Route | None = None
        self.admitted: Admitted | None = None
        self.answered_id: str | None = None  # the payment id an answer carried
        self.reason_code: str | None = None  # of a refusal
        self.explanation: dict[str, str] | None = None  # of a refused authentication
        self.plain: bytes | None = None  # the answer before encryption, when it was encrypted
        self.finished = started
        self.method = ""
        self.path = b""  # the raw path, as sent
        self.query = b""
        self.request_id = ""
        self.headers: dict[str, str] = {}
        self.body = b""
        self.body_size = 0
        self.status = 0
        self.response_headers: list[tuple[bytes, bytes]] = []
        self.content = b""

    def ok(self, result: Any) -> None:
        """The use case answered ``result``: only the payment id it names is kept."""
        payment = result.get("payment") if isinstance(result, dict) else None
        if isinstance(payment, dict):
            answered = payment.get("id")
            self.answered_id = answered if isinstance(answered, str) else None

    def fail(self, exc: BaseException) -> None:
        """The request was refused with ``exc``: only its words are kept, never the exception,
        whose traceback would hold the request's frames (and its whole body) alive."""
        self.reason_code = render_error(exc).items[0].reason_code
        if isinstance(exc, SecurityError):
            self.explanation = explain(exc)

    def finish(self, scope: Scope, request_id: str, headers: dict[str, str], body: bytes) -> None:
        """Note the request's identity once its answer was sent."""
        self.finished = time.perf_counter()
        self.method, self.request_id, self.headers = scope["method"], request_id, headers
        # Only a bounded head of a body waits in the ring (a body may be 1 MiB, D9): the
        # journal keeps no more of it anyway, and a burst of large requests stays small.
        self.body_size = len(body)
        self.body = body if len(body) <= KEPT_BYTES else body[:KEPT_BYTES]
        admitted = self.admitted
        if admitted is not None and len(admitted.body) > KEPT_BYTES:
            self.admitted = dataclasses.replace(admitted, body=admitted.body[:KEPT_BYTES])
        self.path = scope.get("raw_path") or scope["path"].encode()
        self.query = scope.get("query_string", b"")


def explain(exc: SecurityError) -> dict[str, str]:
    """Why authentication was refused, in words and, for a signature, what the server built."""
    document = {"reason": exc.reason, "reasonCode": exc.reason_code}
    if isinstance(exc, AuthenticationFailed):
        if exc.base_string is not None:
            document["signatureBaseString"] = exc.base_string
        if exc.expected_body_hash is not None:
            document["expectedBodyHash"] = exc.expected_body_hash
    return document


Observer = Callable[[Trace], None]
"""Called on the event loop after each answer; must return at once (see RequestRecorder)."""
