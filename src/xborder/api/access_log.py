"""A structured access log: one JSON line per request, never a body or a credential.

The line's fields are gathered once, as the response starts and ends, and travel as one log
record; with :func:`xborder.logs.configure_logging` it is formatted once, on the request's
thread, and written by the log writer's thread in batches, so a request never waits on the
terminal or the file behind standard error.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xborder.logs import ACCESS_FIELDS, access_writer

access = logging.getLogger("xborder.access")


class AccessLog:
    """Serves a request through an app and logs method, path, status, size and timing."""

    def __init__(self) -> None:
        self._write = access_writer()  # straight to the log writer when it is ours

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        if not access.isEnabledFor(logging.INFO):
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: list[Any] = [500, 0]  # status, bytes

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen[0] = message["status"]
            elif message["type"] == "http.response.body":
                seen[1] += len(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive, logged_send)
        finally:
            fields = _fields(scope, seen[0], seen[1], start)
            if self._write is not None:
                self._write(fields)
            else:
                # the fields travel as a record attribute: the JSON formatter (xborder.logs)
                # writes them as members; any other formatter still gets a readable message
                access.info("%(method)s %(path)s %(status)s", fields, extra={ACCESS_FIELDS: fields})


def _fields(scope: Scope, status: int, size: int, start: float) -> dict[str, Any]:
    return {
        "method": scope["method"],
        "path": scope.get("path", ""),
        "status": status,
        "bytes": size,
        "ms": round((time.perf_counter() - start) * 1000, 3),
        "request_id": scope.get("state", {}).get("request_id"),
        "client": (scope.get("client") or ("", 0))[0],
        "http": scope.get("http_version"),
    }
