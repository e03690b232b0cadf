"""The admin API (D17): operator simulation under ``/admin/v1``, JSON, its own credential.

Every request carries ``Authorization: Bearer <XBORDER_ADMIN_TOKEN>``; without it (or when no
token is configured) the answer is 401. Errors use the XBS ``Errors`` envelope through the one
error table of :mod:`xborder.api.errors`. The API is off by default on a production
deployment (``XBORDER_DEPLOYMENT=production``) unless ``XBORDER_ADMIN=on``.

=======  =====================================================  ============================
method   path                                                   body
=======  =====================================================  ============================
POST     /partners/{partner}/accounts/{currency}/fund           ``{"amount": "100.00"}``
POST     /partners/{partner}/payments/{payment}/advance         (none)
POST     /partners/{partner}/payments/{payment}/settle          (none)
POST     /partners/{partner}/payments/{payment}/reject          ``{"code": "130101"}``
POST     /partners/{partner}/payments/{payment}/return          ``{"code": "130190"}``
GET      /clock                                                 (none)
POST     /clock/advance                                         ``{"seconds": 3600}``
POST     /scheduler/run                                         (none)
GET      /events?partner_id=&payment_id=&after=&limit=          (none)
=======  =====================================================  ============================

``{payment}`` is a payment id or a transaction reference (as D2).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from xborder.api import problems
from xborder.api.balance import sheet_view
from xborder.api.codecs import JSON
from xborder.api.errors import envelope, render_error
from xborder.api.routes import new_request_id
from xborder.api.schemas import payment_view, timestamp
from xborder.clock import Clock
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.services import accounts, operator, scheduler, timeline
from xborder.services.payments import PaymentRules, UowFactory
from xborder.services.ports import StatusEvent

log = logging.getLogger("xborder.admin")

PREFIX = "/admin/v1"
MAX_EVENTS = 1000


@dataclass(frozen=True, slots=True)
class AdminServices:
    """What the admin endpoints need."""

    uow_factory: UowFactory
    clock: Clock
    rules: PaymentRules
    token: str | None
    clock_controllable: bool


Handler = Callable[[AdminServices, dict[str, str], dict[str, Any], dict[str, str]], Any]


def admin_app(services: AdminServices) -> Router:
    """The ASGI app to mount at :data:`PREFIX`."""
    routes = [Route(path, _endpoint(services, h), methods=[m]) for m, path, h in ROUTES]
    return Router(routes=routes)


def _endpoint(services: AdminServices, handler: Handler) -> Callable[[Request], Any]:
    """An endpoint: check the token, decode the JSON body, run ``handler`` off the event loop,
    answer in JSON; any failure is answered through the one error table."""

    async def serve(request: Request) -> Response:
        try:
            _authorise(request, services.token)
            body = _json_body(await request.body())
            query, params = dict(request.query_params), dict(request.path_params)
            document = await run_in_threadpool(handler, services, params, body, query)
            return _json(200, document)
        except Exception as exc:  # every failure becomes an Errors envelope
            rendered, request_id = render_error(exc), new_request_id()
            if rendered.status >= 500:
                log.error("admin API failure (request %s)", request_id, exc_info=exc)
            return _json(rendered.status, envelope(rendered, request_id), rendered)

    return serve


async def unknown_path(_request: Request, _exc: Exception) -> Response:
    """404 in the ``Errors`` envelope, as the XBS paths answer it, for a path no route of the
    app matches: an admin path whose parameter holds a line break is one (Starlette's mount
    pattern stops at it), and the admin API is described as JSON only (D21)."""
    rendered = render_error(problems.UnknownRoute())
    return _json(rendered.status, envelope(rendered, new_request_id()), rendered)


def _authorise(request: Request, token: str | None) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        raise problems.AdminUnauthorized()
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise problems.AdminUnauthorized()


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise problems.MalformedBody("body is not JSON") from exc
    if not isinstance(value, dict):
        raise problems.MalformedBody("body must be a JSON object")
    return value


def _json(status: int, document: Any, rendered: Any = None) -> Response:
    headers = dict(rendered.headers) if rendered is not None else None
    return Response(JSON.encode(document), status, headers, media_type=JSON.media_type)


def _fund(s: AdminServices, p: dict[str, str], body: dict[str, Any], _q: dict[str, str]) -> Any:
    sheet, released = accounts.fund_account(
        p["partner_id"],
        p["currency"].upper(),
        str(_decimal(body, "amount")),
        uow_factory=s.uow_factory,
        clock=s.clock,
        rules=s.rules,
    )
    return {"account": sheet_view(sheet, balances=True), "released": released}


def _action(use_case: Callable[..., Any]) -> Handler:
    def handle(s: AdminServices, p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]) -> Any:
        payment = use_case(
            p["partner_id"],
            p["payment_id"],
            uow_factory=s.uow_factory,
            clock=s.clock,
            rules=s.rules,
        )
        return payment_view(payment, retrieve=True)

    return handle


def _coded(use_case: Callable[..., Any]) -> Handler:
    def handle(
        s: AdminServices, p: dict[str, str], body: dict[str, Any], _q: dict[str, str]
    ) -> Any:
        payment = use_case(
            p["partner_id"],
            p["payment_id"],
            _text(body, "code"),
            uow_factory=s.uow_factory,
            clock=s.clock,
            rules=s.rules,
        )
        return payment_view(payment, retrieve=True)

    return handle


def _clock(s: AdminServices, _p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]) -> Any:
    return {"now": timestamp(s.clock.now(), millis=True), "controllable": s.clock_controllable}


def _advance_clock(
    s: AdminServices, _p: dict[str, str], body: dict[str, Any], _q: dict[str, str]
) -> Any:
    try:
        delta = timedelta(seconds=float(_decimal(body, "seconds")))
    except OverflowError as exc:  # past timedelta's range: far beyond the use case's limit
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "seconds")]) from exc
    now = timeline.advance_clock(
        delta,
        controllable=s.clock_controllable,
        uow_factory=s.uow_factory,
        clock=s.clock,
    )
    steps = scheduler.run_due_steps(uow_factory=s.uow_factory, clock=s.clock, rules=s.rules)
    return {"now": timestamp(now, millis=True), "steps": steps}


def _run_scheduler(
    s: AdminServices, _p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]
) -> Any:
    return {
        "steps": scheduler.run_due_steps(uow_factory=s.uow_factory, clock=s.clock, rules=s.rules)
    }


def _events(s: AdminServices, _p: dict[str, str], _b: dict[str, Any], q: dict[str, str]) -> Any:
    after = _query_int(q, "after", 0)
    limit = min(_query_int(q, "limit", 100), MAX_EVENTS)
    with s.uow_factory(readonly=True) as uow:
        events = uow.events.since(q.get("partner_id"), q.get("payment_id"), after, limit)
    return {"events": [event_view(e) for e in events]}


def event_view(event: StatusEvent) -> dict[str, Any]:
    """An outbox row as the admin API lists it."""
    return {
        "id": event.id,
        "eventRef": event.event_ref,
        "paymentId": event.payment_id,
        "partnerId": event.partner_id,
        "transactionReference": event.transaction_reference,
        "previousStatus": event.previous_status,
        "status": event.status,
        "pendingStage": event.pending_stage,
        "occurredAt": timestamp(event.occurred_at, millis=True),
        "errorCode": event.error_code,
        "errorMessage": event.error_message,
        "deliveredAt": timestamp(event.delivered_at, millis=True),
    }


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise ValidationFailed([FieldProblem(ProblemKind.MISSING, name)])
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, name)])
    return str(value)


DECIMAL = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
"""A decimal as the admin API takes it, in text or as a JSON integer (D21: what the
description allows). Decimal() alone would also take "NaN", "Infinity", "1_0" and " 5"."""


def _decimal(body: dict[str, Any], name: str) -> Decimal:
    text = _text(body, name)
    if not DECIMAL.fullmatch(text):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, name)])
    return Decimal(text)


QUERY_DIGITS = 18
"""At most this many ASCII digits in ``after`` and ``limit``: every such number fits the
database's 64-bit integers (D21: what the description allows never fails)."""


def _query_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    # str.isdigit() alone also takes "²" and other digits that int() refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= QUERY_DIGITS):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, name)])
    return int(raw)


_PAYMENT = "/partners/{partner_id}/payments/{payment_id}"
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/partners/{partner_id}/accounts/{currency}/fund", _fund),
    ("POST", _PAYMENT + "/advance", _action(operator.advance_payment)),
    ("POST", _PAYMENT + "/settle", _action(operator.settle_payment)),
    ("POST", _PAYMENT + "/reject", _coded(operator.reject_payment)),
    ("POST", _PAYMENT + "/return", _coded(operator.return_payment)),
    ("GET", "/clock", _clock),
    ("POST", "/clock/advance", _advance_clock),
    ("POST", "/scheduler/run", _run_scheduler),
    ("GET", "/events", _events),
)
"""The admin operations as (method, path under :data:`PREFIX`, handler): the router and the
OpenAPI description are both built from it."""
