"""The console's plumbing: templates, the session check, CSRF, and how a page or an action
is answered. Pages are server-rendered with Jinja2 and autoescaping on (every value a page
shows is escaped); the only script is the requests page's inline SSE listener, allowed by a
per-response CSP nonce."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from xborder.api.admin import AdminServices
from xborder.api.console.session import COOKIE, SESSION_SECONDS, ConsoleKeys
from xborder.api.errors import render_error
from xborder.api.metrics import Figures
from xborder.errors import XborderError

log = logging.getLogger("xborder.console")

ROOT = "/console"

Page = Callable[["Console", Request], Any]
"""Returns (template name, context) or a Response; runs off the event loop."""


@dataclass(frozen=True, slots=True)
class Console:
    """What every console page and action needs."""

    admin: AdminServices
    engine: Engine
    keys: ConsoleKeys | None  # None: no admin token configured, nobody can log in
    templates: jinja2.Environment
    figures: Callable[[], Figures]  # the home page's, shared with /metrics


def templates() -> jinja2.Environment:
    """The console's templates, autoescaped."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("xborder.api.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def session_of(console: Console, request: Request) -> str | None:
    """The request's session cookie when it is valid."""
    value = request.cookies.get(COOKIE)
    if console.keys is None or not console.keys.check_session(value):
        return None
    return value


def render(console: Console, request: Request, name: str, context: dict[str, Any]) -> Response:
    """A page: the template with the session's CSRF token, a CSP nonce and the notice."""
    session = session_of(console, request) or ""
    nonce = secrets.token_urlsafe(12)
    html = console.templates.get_template(name).render(
        root=ROOT,
        csrf=console.keys.csrf(session) if console.keys and session else "",
        nonce=nonce,
        notice=request.query_params.get("notice", ""),
        failed=request.query_params.get("failed", "") == "1",
        **context,
    )
    return HTMLResponse(html, headers=_headers(nonce))


def _headers(nonce: str) -> dict[str, str]:
    return {
        "content-security-policy": (
            f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline';"
            " img-src 'self' data:;"
            " frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        ),
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",  # a login link's key never leaks on
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
    }


def page(console: Console, handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A GET page behind the session; without one, the login page."""

    async def serve(request: Request) -> Response:
        if session_of(console, request) is None:
            return RedirectResponse(f"{ROOT}/login", status_code=303)
        try:
            result = await run_in_threadpool(handler, console, request)
        except XborderError as exc:
            return render(console, request, "error.html", {"message": str(exc)})
        if isinstance(result, Response):
            return result
        name, context = result
        return render(console, request, name, context)

    return serve


Action = Callable[[Console, Request, dict[str, str]], str]
"""Does the change, returns the notice to show; raises XborderError to refuse."""


def action(
    console: Console, handler: Action, back: Callable[[Request, dict[str, str]], str]
) -> Callable[[Request], Awaitable[Response]]:
    """A POST form behind the session and its CSRF token; answered by a redirect to ``back``
    with the outcome as a notice (POST-redirect-GET)."""

    async def serve(request: Request) -> Response:
        session = session_of(console, request)
        if session is None or console.keys is None:
            return RedirectResponse(f"{ROOT}/login", status_code=303)
        form = await read_form(request)
        if not console.keys.check_csrf(session, form.get("csrf", "")):
            return HTMLResponse("CSRF token missing or wrong", status_code=403)
        try:
            notice, failed = await run_in_threadpool(handler, console, request, form), False
        except XborderError as exc:
            notice, failed = _refusal(exc), True
        target = back(request, form)
        query = urlencode({"notice": notice, **({"failed": "1"} if failed else {})})
        return RedirectResponse(f"{target}{'&' if '?' in target else '?'}{query}", 303)

    return serve


MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """A url-encoded form (what the console's forms send), first value of each name; an
    oversized or undecodable body reads as an empty form, which every check then refuses."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        return {}
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _refusal(exc: XborderError) -> str:
    rendered = render_error(exc)
    if rendered.status >= 500:  # not an API error (a webhook registration): its own words
        return f"Refused: {exc}"
    item = rendered.items[0]
    return f"Refused ({rendered.status} {item.reason_code}): {item.description or exc}"


def set_session(response: Response, console: Console, secure: bool) -> Response:
    """Log the browser in: a new session cookie (HttpOnly, SameSite=Strict, path /console)."""
    if console.keys is None:  # pragma: no cover - login is refused before this
        raise RuntimeError("no admin token")
    response.set_cookie(
        COOKIE,
        console.keys.session(),
        max_age=SESSION_SECONDS,
        path=ROOT,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return response
