"""The hand-written routing of XBS requests against Starlette's router holding the same routes
(differential tests).

Two steps stand in for Starlette's router on an XBS request (issue 16 keeps them because
they save enough of a request's CPU: docs/performance.md, "Stand-ins"):

- ``XborderApp`` (``api/dispatch.py``) sends a path to the Starlette app of the other routes
  only when one of them could serve it, and every other path straight to the XBS endpoint;
- ``routes.match`` (``api/routes.py``) finds the XBS endpoint on the raw path.

The oracle is Starlette's own matching (``Route.matches``: the first full match in order, or
else the methods of the routes that match the path but not the method) over the routes
:func:`create_app` builds, followed by the XBS route templates (``routes.ENDPOINTS`` and the
Balance API's). For paths without a percent-escape the two must agree: the same handler with
the same partner and key, a 405 naming the same methods, or no route. Where xborder differs
from Starlette on purpose, the oracle says so and why:

- D19: HEAD is not answered on the cancel path (Starlette adds HEAD to every GET route);
- the find path and the Balance API's list of accounts are also found with a trailing
  slash, where Starlette would redirect;
- D8: an empty partner-id segment is a partner id that breaks the rule (400), where
  Starlette's ``[^/]+`` finds no route;
- the Balance API refuses a method other than GET or HEAD before it reads past ``accounts``.

The oracle matches, it does not redirect: a slash Starlette would redirect away is a 404 on
the XBS paths, as it always was. D2 (``%2F`` stays inside its segment, which Starlette's
decoded path cannot express) is held by the D2 tests, not here.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute, Match
from starlette.routing import Route as StarletteRoute

from xborder.api import balance, problems, routes
from xborder.api.app import create_app
from xborder.api.dispatch import XborderApp
from xborder.config import Settings
from xborder.domain.projects import PARTNER_ID

BASE = routes.BASE.replace("{partner-id}", "P1")
LISTS = ("find", "accounts")  # found with a trailing slash too
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SLASHED = [(n, m, t + "/") for n, m, t in (*routes.ENDPOINTS, *balance.ENDPOINTS) if n in LISTS]
XBS_TEMPLATES = [*routes.ENDPOINTS, *balance.ENDPOINTS, *SLASHED]
REF = "R-1"
PROPERTY = settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> XborderApp:
    """The app as deployed by default (the admin API, console and metrics on); nothing is
    started and the database is never opened."""
    data = tmp_path_factory.mktemp("routing")
    settings = Settings(data_dir=Path(data), admin_token="token", scheduler=False, webhooks=False)
    engine = sa.create_engine("sqlite://")
    try:
        return create_app(settings, engine=engine)
    finally:
        engine.dispose()


def _as_starlette_route(template: str, method: str, name: str) -> StarletteRoute:
    route = StarletteRoute(template.replace("-id}", "_id}"), _never, methods=[method], name=name)
    if template.endswith("/cancel") and route.methods:
        route.methods.discard("HEAD")  # D19
    return route


async def _never(_scope: Any, _receive: Any, _send: Any) -> None:
    raise AssertionError("the oracle only matches")


XBS_ROUTES = [_as_starlette_route(t, m, n) for n, m, t in XBS_TEMPLATES]


def _scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "root_path": "", "method": method}


def _matches(candidates: list[Any], path: str, method: str) -> list[tuple[Match, Any, Any]]:
    """Starlette's verdict of each route that matches the path, in order."""
    found = []
    for route in candidates:
        match, child = route.matches(_scope(path, method))
        if match is not Match.NONE:
            found.append((match, route, child))
    return found


def oracle(path: str, method: str) -> tuple[Any, ...]:
    """What Starlette's matching makes of an XBS request, with xborder's rulings applied."""
    head, rest = _partner_and_rest(path)
    if head == balance.PREFIX.decode() and rest[1:3] == ["crossborder", "accounts"]:
        if method not in ("GET", "HEAD"):  # the Balance API checks the method first
            return ("405", frozenset({"GET"}))
    if head and rest and rest[0] == "":  # D8: an empty partner id is matched, then refused
        found = _starlette_match(head + "P" + path[len(head) :], method)
        return ("invalid partner",) if found[0] == "route" else found
    return _starlette_match(path, method)


def _partner_and_rest(path: str) -> tuple[str, list[str]]:
    for prefix in (routes.PREFIX.decode(), balance.PREFIX.decode()):
        if path.startswith(prefix):
            return prefix, path[len(prefix) :].split("/")
    return "", []


def _starlette_match(path: str, method: str) -> tuple[Any, ...]:
    found = _matches(XBS_ROUTES, path, method)
    full = next((item for item in found if item[0] is Match.FULL), None)
    if full is not None:
        _match, route, child = full
        params = child["path_params"]
        if not PARTNER_ID.fullmatch(params["partner_id"]):
            return ("invalid partner",)  # D8
        key = params.get("payment_id") or params.get("account_id")
        if key is None:
            key = {"find": REF, "accounts": "false"}.get(route.name, "")
        return ("route", route.name, params["partner_id"], key)
    if found:
        return ("405", frozenset().union(*(route.methods for _m, route, _c in found)) - {"HEAD"})
    return ("404",)


def ours(path: str, method: str) -> tuple[Any, ...]:
    """What ``routes.match`` makes of the same request (the find path carries ``ref``)."""
    query = f"ref={REF}".encode() if path.startswith(routes.BASE.split("{")[0]) else b""
    try:
        route = routes.match(path.encode("ascii"), method, query)
    except problems.InvalidPartnerId:
        return ("invalid partner",)
    except problems.MethodNotAllowed as exc:
        return ("405", frozenset(exc.allowed) - {"HEAD"})
    except problems.UnknownRoute:
        return ("404",)
    return ("route", route.name, route.partner_id, route.key)


# --- paths ----------------------------------------------------------------------------------

SEGMENT_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@ "
WORDS = ["send", "v1", "partners", "crossborder", "payment", "cancel", "accounts", "admin",
         "docs", "assets", "oauth2", "authorize", "token", "health", "metrics", "console",
         "openapi.json", "BENCH_PARTNER1", "P" * 36]  # fmt: skip
SEGMENTS = st.one_of(  # an empty segment often: most edge cases are one
    st.just(""), st.sampled_from(WORDS), st.text(SEGMENT_CHARS, min_size=1, max_size=10)
)


@st.composite
def paths(draw: st.DrawFn, templates: list[str]) -> str:
    """A template with its parameters filled, then perhaps changed: a slash or a segment
    added, the last segment dropped, or one segment replaced; or segments at random."""
    if draw(st.integers(0, 5)) == 0:
        return "/" + "/".join(draw(st.lists(SEGMENTS, max_size=8)))
    template = draw(st.sampled_from(templates))
    parts = [draw(SEGMENTS) if "{" in part else part for part in template.split("/")]
    change = draw(st.sampled_from(["none", "slash", "add", "drop", "replace"]))
    if change == "slash":
        parts.append("")
    elif change == "add":
        parts.append(draw(SEGMENTS))
    elif change == "drop" and len(parts) > 2:
        parts.pop()
    elif change == "replace" and len(parts) > 2:
        parts[draw(st.integers(1, len(parts) - 1))] = draw(SEGMENTS)
    return "/".join(parts)


XBS_PATHS = [t for _n, _m, t in XBS_TEMPLATES]


# --- the XBS matcher --------------------------------------------------------------------------


@PROPERTY
@given(path=paths(XBS_PATHS), method=st.sampled_from(METHODS))
def test_the_xbs_matcher_finds_what_starlette_finds(path: str, method: str) -> None:
    assert ours(path, method) == oracle(path, method)


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        (f"{BASE}/rem_1/cancel", "POST", ("route", "cancel", "P1", "rem_1")),
        (f"{BASE}/rem_1/cancel", "HEAD", ("405", frozenset({"GET", "POST"}))),  # D19
        (f"{BASE}/rem_1", "HEAD", ("route", "get", "P1", "rem_1")),
        (f"{BASE}/payment", "POST", ("route", "create", "P1", "")),
        (f"{BASE}/payment", "GET", ("route", "get", "P1", "payment")),
        (f"{BASE}/payment", "PUT", ("405", frozenset({"GET", "POST"}))),
        (f"{BASE}", "GET", ("route", "find", "P1", REF)),
        (f"{BASE}/", "GET", ("route", "find", "P1", REF)),  # a list's slash
        (f"{BASE}/rem_1/cancel/", "POST", ("404",)),  # no redirect
        ("/send/v1/partners//crossborder/rem_1", "GET", ("invalid partner",)),  # D8
        ("/send/v1/partners//crossborder/rem_1", "PUT", ("405", frozenset({"GET"}))),
        (f"/send/v1/partners/{'P' * 36}/crossborder", "GET", ("invalid partner",)),
        ("/send/partners/P1/crossborder/accounts", "GET", ("route", "accounts", "P1", "false")),
        ("/send/partners/P1/crossborder/accounts/", "HEAD", ("route", "accounts", "P1", "false")),
        ("/send/partners/P1/crossborder/accounts/a1", "GET", ("route", "account", "P1", "a1")),
        ("/send/partners/P1/crossborder/accounts/a/b", "POST", ("405", frozenset({"GET"}))),
        ("/send/partners/P1/crossborder/accounts/a/b", "GET", ("404",)),
        ("/send/partners//crossborder/accounts", "GET", ("invalid partner",)),
        ("/health", "GET", ("404",)),
    ],
)
def test_each_ruling_is_what_both_say(path: str, method: str, expected: tuple[Any, ...]) -> None:
    """The oracle's adjustments, each on a path of its own, and the plain cases beside them."""
    assert oracle(path, method) == expected
    assert ours(path, method) == expected


# --- the dispatcher -------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_dispatch_sends_each_path_where_a_starlette_route_matches_it(
    app: XborderApp, data: st.DataObject
) -> None:
    """A path one of the other routes matches (whatever the method) goes to Starlette's app;
    a path an XBS route matches goes to the XBS endpoint; no path matches both."""
    others: list[BaseRoute] = list(app.others.routes)
    templates = [*XBS_PATHS, *(route.path for route in others)]  # type: ignore[attr-defined]
    path = data.draw(paths(templates), label="path")
    theirs = _matches(others, path, "GET")
    xbs = _matches(XBS_ROUTES, path, "GET")
    assert not (theirs and xbs), path
    if theirs:
        assert app._is_other(path), path
    if xbs:
        assert not app._is_other(path), path


@pytest.mark.parametrize(
    ("path", "other"),
    [
        ("/health", True),
        ("/openapi.json", True),
        ("/docs", True),
        ("/docs/assets/swagger-ui.css", True),
        ("/admin/v1/projects", True),
        ("/console/", True),
        ("/console", True),  # a mount's own path: Starlette's app redirects it to its slash
        ("/metrics", True),
        ("/oauth2/token", True),
        (f"{BASE}/rem_1/cancel", False),
        ("/send/partners/P1/crossborder/accounts", False),
        ("/healthz", False),
    ],
)
def test_dispatch_of_the_known_paths(app: XborderApp, path: str, other: bool) -> None:
    assert app._is_other(path) is other
