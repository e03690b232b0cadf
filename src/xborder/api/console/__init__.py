"""The web console at ``/console`` (issue 14): payments, balances, the request journal (live),
webhooks and the operator's actions, server-rendered, behind the admin credential.

It is mounted wherever the admin API is (D17: off by default in production). Logging in
takes the admin token (a form) or a one-time login link that ``xborder serve`` prints for
a development deployment; a signed session cookie follows. Every form carries a CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, Router

from xborder.api.admin import AdminServices
from xborder.api.admin_requests import is_count
from xborder.api.admin_stream import events
from xborder.api.console import actions, views
from xborder.api.console.session import COOKIE, LOGIN_KEY_OWNER, ConsoleKeys
from xborder.api.console.web import (
    ROOT,
    Console,
    action,
    page,
    read_form,
    render,
    session_of,
    set_session,
    templates,
)
from xborder.api.metrics import Figures
from xborder.services import journal
from xborder.services.payments import UowFactory


def console_mount(
    admin: AdminServices, engine: Engine, figures: Callable[[], Figures]
) -> BaseRoute:
    """The console, to mount at :data:`ROOT`; ``figures`` feed its home page (the ones
    ``/metrics`` serves)."""
    keys = ConsoleKeys(admin.token) if admin.token else None
    console = Console(admin, engine, keys, templates(), figures)
    payment = "/payments/{partner_id}/{payment_id}"
    routes = [
        Route("/", page(console, views.home_page), methods=["GET"]),
        Route("/login", _login_endpoint(console), methods=["GET", "POST"]),
        Route("/logout", _logout, methods=["POST"]),
        Route("/payments", page(console, views.payments_page), methods=["GET"]),
        Route(payment, page(console, views.payment_page), methods=["GET"]),
        Route(
            payment + "/{verb}",
            action(console, actions.payment_action, actions.payment_back),
            methods=["POST"],
        ),
        Route("/balances", page(console, views.balances_page), methods=["GET"]),
        Route(
            "/fund", action(console, actions.fund, actions.back_to("/balances")), methods=["POST"]
        ),
        Route(
            "/clock",
            action(console, actions.advance_clock, actions.back_to("/payments")),
            methods=["POST"],
        ),
        Route("/requests", page(console, views.requests_page), methods=["GET"]),
        Route("/requests/{entry_id}", page(console, views.request_page), methods=["GET"]),
        Route("/stream", _stream_endpoint(console), methods=["GET"]),
        Route("/webhooks", page(console, views.webhooks_page), methods=["GET"]),
        Route(
            "/webhooks",
            action(console, actions.set_webhook, actions.back_to("/webhooks")),
            methods=["POST"],
        ),
        Route(
            "/events/{event_id}/redeliver",
            action(console, actions.redeliver, actions.back_to("/webhooks")),
            methods=["POST"],
        ),
    ]
    return Mount(ROOT, app=Router(routes=routes))


async def _logout(_request: Request) -> Response:
    response = RedirectResponse(f"{ROOT}/login", status_code=303)
    response.delete_cookie(COOKIE, path=ROOT)
    return response


Endpoint = Callable[[Request], Awaitable[Response]]


def _login_endpoint(console: Console) -> Endpoint:
    async def login(request: Request) -> Response:
        keys, token = console.keys, console.admin.token
        if keys is None or token is None:
            message = "No admin token is configured (XBORDER_ADMIN_TOKEN): nobody can log in."
            return render(console, request, "login.html", {"message": message})
        if request.method == "POST":
            given = (await read_form(request)).get("token", "")
            if hmac.compare_digest(given.encode(), token.encode()):
                return _logged_in(console, request)
            return render(console, request, "login.html", {"message": "Not the admin token."})
        key = request.query_params.get("key")
        if key:
            if await run_in_threadpool(_use_login_key, console.admin, keys, key):
                return _logged_in(console, request)
            message = "That login link was used already or has expired."
            return render(console, request, "login.html", {"message": message})
        if session_of(console, request):
            return RedirectResponse(f"{ROOT}/", status_code=303)
        return render(console, request, "login.html", {"message": ""})

    return login


def _logged_in(console: Console, request: Request) -> Response:
    response = RedirectResponse(f"{ROOT}/", status_code=303)
    return set_session(response, console, secure=request.url.scheme == "https")


def _use_login_key(admin: AdminServices, keys: ConsoleKeys, key: str) -> bool:
    """Whether ``key`` is a valid login key never used before (then it is used now)."""
    checked = keys.check_login_key(key)
    if checked is None:
        return False
    return admin.written(_record_login_key, checked.nonce, checked.expires)


def _record_login_key(nonce: str, expires: int, *, uow_factory: UowFactory) -> bool:
    with uow_factory() as uow:
        fresh = uow.nonces.record(LOGIN_KEY_OWNER, nonce, expires)
        uow.commit()
    return fresh


def _stream_endpoint(console: Console) -> Endpoint:
    async def stream(request: Request) -> Response:
        if session_of(console, request) is None:
            return Response("log in first", status_code=401)
        start = await run_in_threadpool(journal.latest_ids, uow_factory=console.admin.uow_factory)
        after = request.query_params.get("after", "")
        if is_count(after):  # the requests page: from what it showed
            start = (int(after), start[1], start[2])
        return StreamingResponse(
            events(console.admin, start, None),
            media_type="text/event-stream",
            headers={"cache-control": "no-store"},
        )

    return stream
