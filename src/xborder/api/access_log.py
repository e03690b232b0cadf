"""A structured access log: one JSON line per request, never a body or a credential."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xborder.logs import ACCESS_FIELDS

access = logging.getLogger("xborder.access")


class AccessLogMiddleware:
    """Pure ASGI middleware (no response buffering) that logs method, path, status, timing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        size = 0

        async def logged_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            fields = {
                "method": scope["method"],
                "path": scope.get("path", ""),
                "status": status,
                "bytes": size,
                "ms": round((time.perf_counter() - start) * 1000, 3),
                "request_id": scope.get("state", {}).get("request_id"),
                "client": (scope.get("client") or ("", 0))[0],
                "http": scope.get("http_version"),
            }
            # the fields travel as a record attribute: the JSON formatter (xborder.logs)
            # writes them as members; any other formatter still gets a readable message
            access.info("%(method)s %(path)s %(status)s", fields, extra={ACCESS_FIELDS: fields})
