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
GET      /oauth2/grants                                         (none)
POST     /oauth2/grants/{grant}/approve                         (none)
POST     /oauth2/grants/{grant}/deny                            (none)
GET      /requests?partner_id=&payment=&status=&since=&before=  (none), the request journal
GET      /requests/{id}                                         (none)
GET      /stream                                                (none), Server-Sent Events
GET      /webhooks, /deliveries; PUT /partners/{partner}/webhook; POST /events/{id}/redeliver
         (D14, D18: :mod:`xborder.api.admin_webhooks`)
=======  =====================================================  ============================

The ``/oauth2/grants`` routes are the operator's consent of D23: an mtf or production eu/uk
project's ``GET /oauth2/authorize`` waits as a PENDING grant until approved (its client then
collects the code) or denied (``error=access_denied``); only PENDING grants are listed.

``{payment}`` is a payment id or a transaction reference (as D2).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from xborder.api import problems
from xborder.api.admin_requests import get_request, is_count, list_requests
from xborder.api.admin_stream import stream_endpoint
from xborder.api.admin_views import event_view
from xborder.api.admin_webhooks import list_deliveries, list_targets, redeliver, set_target
from xborder.api.balance import sheet_view
from xborder.api.codecs import JSON
from xborder.api.errors import envelope, render_error
from xborder.api.routes import new_request_id
from xborder.api.schemas import payment_view, timestamp
from xborder.clock import Clock
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.domain.oauth2 import Grant
from xborder.services import accounts, oauth2, operator, scheduler, timeline
from xborder.services.payments import PaymentRules, UowFactory
from xborder.services.unit_of_work import WriteRunner

log = logging.getLogger("xborder.admin")

PREFIX = "/admin/v1"
STREAM = "/stream"  # issue 14: Server-Sent Events, beside the JSON routes of ROUTES
MAX_EVENTS = 1000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AdminServices:
    """What the admin endpoints need."""

    uow_factory: UowFactory
    clock: Clock
    rules: PaymentRules
    token: str | None
    clock_controllable: bool
    write: WriteRunner  # issue 12: the process's writer; every admin write is one of its units

    def written(self, use_case: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``use_case(*args, **kwargs, uow_factory=...)`` run as one unit of :attr:`write`:
        it joins the request writes' groups (rolled back alone if it fails, run again in a
        group of its own if PostgreSQL aborts it as a deadlock) and returns once committed."""
        return self.write(lambda factory: use_case(*args, uow_factory=factory, **kwargs))


Handler = Callable[[AdminServices, dict[str, str], dict[str, Any], dict[str, str]], Any]


def admin_app(services: AdminServices) -> Router:
    """The ASGI app to mount at :data:`PREFIX`."""
    routes = [Route(path, _endpoint(services, h), methods=[m]) for m, path, h in ROUTES]
    stream = stream_endpoint(services, lambda r: authorise(r, services.token), refusal)
    routes.append(Route(STREAM, stream, methods=["GET"]))  # issue 14: Server-Sent Events
    return Router(routes=routes)


def _endpoint(services: AdminServices, handler: Handler) -> Callable[[Request], Any]:
    """An endpoint: check the token, decode the JSON body, run ``handler`` off the event loop,
    answer in JSON; any failure is answered through the one error table."""

    async def serve(request: Request) -> Response:
        try:
            authorise(request, services.token)
            body = _json_body(await request.body())
            query, params = dict(request.query_params), dict(request.path_params)
            document = await run_in_threadpool(handler, services, params, body, query)
            return _json(200, document)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Errors envelope
            return refusal(exc)

    return serve


async def unknown_path(_request: Request, _exc: Exception) -> Response:
    """404 in the ``Errors`` envelope, as the XBS paths answer it, for a path no route of the
    app matches: an admin path whose parameter holds a line break is one (Starlette's mount
    pattern stops at it), and the admin API is described as JSON only (D21)."""
    rendered = render_error(problems.UnknownRoute())
    return _json(rendered.status, envelope(rendered, new_request_id()), rendered)


def refusal(exc: BaseException) -> Response:
    """The admin API's answer to a failure, in the ``Errors`` envelope."""
    rendered, request_id = render_error(exc), new_request_id()
    if rendered.status >= 500:
        log.error("admin API failure (request %s)", request_id, exc_info=exc)
    return _json(rendered.status, envelope(rendered, request_id), rendered)


def authorise(request: Request, token: str | None) -> None:
    """Raise :class:`problems.AdminUnauthorized` unless the request carries the admin token."""
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
    sheet, released = s.written(
        accounts.fund_account,
        p["partner_id"],
        p["currency"].upper(),
        str(_decimal(body, "amount")),
        clock=s.clock,
        rules=s.rules,
    )
    return {"account": sheet_view(sheet, balances=True), "released": released}


def _action(use_case: Callable[..., Any]) -> Handler:
    def handle(s: AdminServices, p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]) -> Any:
        payment = s.written(
            use_case, p["partner_id"], p["payment_id"], clock=s.clock, rules=s.rules
        )
        return payment_view(payment, retrieve=True)

    return handle


def _coded(use_case: Callable[..., Any]) -> Handler:
    def handle(
        s: AdminServices, p: dict[str, str], body: dict[str, Any], _q: dict[str, str]
    ) -> Any:
        code = _text(body, "code")
        payment = s.written(
            use_case, p["partner_id"], p["payment_id"], code, clock=s.clock, rules=s.rules
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
    s.written(timeline.advance_clock, delta, controllable=s.clock_controllable)
    now = s.clock.now()  # after the commit: the clock reads the offset on its own connection
    steps = scheduler.run_due_steps(
        uow_factory=s.uow_factory, clock=s.clock, rules=s.rules, write=s.write
    )
    return {"now": timestamp(now, millis=True), "steps": steps}


def _run_scheduler(
    s: AdminServices, _p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]
) -> Any:
    steps = scheduler.run_due_steps(
        uow_factory=s.uow_factory, clock=s.clock, rules=s.rules, write=s.write
    )
    return {"steps": steps}


def _events(s: AdminServices, _p: dict[str, str], _b: dict[str, Any], q: dict[str, str]) -> Any:
    after = _query_int(q, "after", 0)
    limit = min(_query_int(q, "limit", 100), MAX_EVENTS)
    with s.uow_factory(readonly=True) as uow:
        events = uow.events.since(q.get("partner_id"), q.get("payment_id"), after, limit)
    return {"events": [event_view(e) for e in events]}


def _grants(s: AdminServices, _p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]) -> Any:
    return {"grants": [grant_view(g) for g in oauth2.pending_grants(uow_factory=s.uow_factory)]}


def _decide(approve: bool) -> Handler:
    def handle(s: AdminServices, p: dict[str, str], _b: dict[str, Any], _q: dict[str, str]) -> Any:
        grant = s.written(oauth2.decide_grant, p["grant_id"], approve=approve)
        return {"grant": grant_view(grant)}

    return handle


def grant_view(grant: Grant) -> dict[str, Any]:
    """A grant as the admin API shows it (D23)."""
    created = datetime.fromtimestamp(grant.created_at, UTC)
    return {
        "grantId": grant.grant_id,
        "consumerKey": grant.consumer_key,
        "redirectUri": grant.redirect_uri,
        "status": grant.status.value,
        "createdAt": timestamp(created, millis=True),
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


def _query_int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    # str.isdigit() alone also takes "²" and other digits that int() refuses.
    if not is_count(raw):
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
    ("GET", "/oauth2/grants", _grants),  # D23
    ("POST", "/oauth2/grants/{grant_id}/approve", _decide(approve=True)),
    ("POST", "/oauth2/grants/{grant_id}/deny", _decide(approve=False)),
    ("GET", "/requests", list_requests),  # issue 14: the request journal
    ("GET", "/requests/{entry_id}", get_request),
    ("GET", "/webhooks", list_targets),  # D14, D18: any partner id, bound or not
    ("PUT", "/partners/{partner_id}/webhook", set_target),
    ("GET", "/deliveries", list_deliveries),
    ("POST", "/events/{event_id}/redeliver", redeliver),
)
"""The admin operations as (method, path under :data:`PREFIX`, handler): the router and the
OpenAPI description are both built from it."""
