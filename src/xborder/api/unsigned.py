"""Development mode without authentication (``XBORDER_AUTH=off``) says so loudly (D11).

It is logged as a warning when the app starts, and every response, whatever its path or
status, carries a ``Warning`` header (RFC 7234 code 299, "persistent warning").
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("xborder")

WARNING = (
    '299 xborder "authentication is off (XBORDER_AUTH=off): unsigned requests are accepted'
    ' for sandbox partners; never expose this server"'
)


class UnsignedModeWarning:
    """Pure ASGI middleware adding the :data:`WARNING` header to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def warned_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"warning", WARNING.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, warned_send)


def announce_unsigned_mode(app: Starlette) -> None:
    """Log the warning and mark every response of ``app``."""
    log.warning(
        "AUTHENTICATION IS OFF (XBORDER_AUTH=off): requests without an OAuth signature are"
        " accepted for sandbox partners; mtf and production partners still need one"
    )
    app.add_middleware(UnsignedModeWarning)
