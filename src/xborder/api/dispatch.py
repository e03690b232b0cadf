"""The app's front door: XBS paths straight to their endpoint, everything else to Starlette.

The XBS endpoint is a plain ASGI callable that routes the raw path itself (D2), so a request
to it needs nothing of Starlette's router or middleware stack; the few other paths (health,
the admin API) keep Starlette's routing, middleware and lifespan. The access log is written
here for both, one line per request (:mod:`xborder.api.access_log`).

This bypass and :func:`xborder.api.routes.match` stand in for Starlette's router on XBS
requests; they stay only while ``make bench`` shows it matters (issue 16; the figure and the
rule are in docs/performance.md, "Stand-ins"). ``tests/unit/test_routing_equivalence.py``
holds both to Starlette's own matching of the same routes.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from xborder.api.access_log import AccessLog


class XborderApp:
    """Dispatches each request to the XBS endpoint or to the Starlette app of the rest."""

    def __init__(
        self,
        endpoint: ASGIApp,
        others: Starlette,
        routes: Sequence[BaseRoute],
        *,
        access_log: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.others = others
        self._exact, self._prefixes = _paths(routes)
        self._log = AccessLog() if access_log else None

    @property
    def state(self) -> State:
        return self.others.state

    @property
    def routes(self) -> list[BaseRoute]:
        """Every route, as Starlette would list them: the XBS endpoint is the catch-all."""
        return [*self.others.routes, Mount("/", app=self.endpoint)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.others(scope, receive, send)  # lifespan, websockets
            return
        path: str = scope["path"]
        app = self.others if self._is_other(path) else self.endpoint
        if self._log is None:
            await app(scope, receive, send)
        else:
            await self._log.serve(app, scope, receive, send)

    def _is_other(self, path: str) -> bool:
        return path in self._exact or path.startswith(self._prefixes)


def _paths(routes: Sequence[BaseRoute]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact: set[str] = set()
    prefixes: list[str] = []
    for route in routes:
        if isinstance(route, Mount):
            exact.add(route.path)
            prefixes.append(route.path + "/")
        elif isinstance(route, Route) and "{" in route.path:  # a parameter: its static head
            prefixes.append(route.path.split("{", 1)[0])
        elif isinstance(route, Route):
            exact.add(route.path)
    return frozenset(exact), tuple(prefixes)
