"""The XBS endpoints under ``/send/v1/partners/{partner-id}/crossborder``.

Routing works on the raw path, one percent-decoded segment at a time, so a transaction
reference holding ``%2F`` is still one segment (D2); otherwise :func:`match` finds what
Starlette's router would (``tests/unit/test_routing_equivalence.py``; why XBS requests skip
that router: :mod:`xborder.api.dispatch`). Each request goes through the same steps: route ->
negotiate -> read body -> gate (auth, decrypt) -> decode -> use case -> encode -> seal.
Endpoints stay thin; rules live in the services and the domain.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from xborder.api import balance, problems
from xborder.api.codecs import JSON, Codec, DecodeError
from xborder.api.schemas import CANCEL_SUCCESS, payment_view
from xborder.clock import Clock
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.domain.projects import PARTNER_ID as PARTNER_ID  # re-exported: api users read it here
from xborder.domain.request import parse_payment_request
from xborder.services import payments as usecases
from xborder.services.payments import PaymentRules, UowFactory

PREFIX = b"/send/v1/partners/"


BASE = "/send/v1/partners/{partner-id}/crossborder"
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("create", "POST", BASE + "/payment"),
    ("find", "GET", BASE),  # ?ref={transaction_reference}
    ("get", "GET", BASE + "/{payment-id}"),
    ("cancel", "POST", BASE + "/{payment-id}/cancel"),  # D1: canonical
    ("cancel", "GET", BASE + "/{payment-id}/cancel"),  # D1: the Cancel Payment page's method
    *balance.ENDPOINTS,
)
"""Every operation :func:`match` answers, as (handler, method, path template): what the
OpenAPI description is built from, and what the tests hold :func:`match` to (HEAD is
answered wherever GET is, except on the cancel path, D19)."""


@dataclass(frozen=True, slots=True)
class Route:
    """A matched endpoint: which handler, for which partner, with which path key."""

    name: str
    partner_id: str
    key: str
    root: str | None  # the request root element the endpoint expects, when it takes a body


@dataclass(frozen=True, slots=True)
class Services:
    """What the endpoints need to run use cases."""

    uow_factory: UowFactory
    clock: Clock
    rules: PaymentRules


def new_request_id() -> str:
    """A numeric request id, as XBS error envelopes carry."""
    return str(10**9 + secrets.randbelow(9 * 10**9))


def json_only(raw_path: bytes) -> bool:
    """Whether every answer on this path, a routing error included, is JSON: the Balance
    API's paths (docs/reference.md §12; the description gives them no XML, D21)."""
    return raw_path.startswith(balance.PREFIX)


def match(raw_path: bytes, method: str, query: bytes) -> Route:
    """Find the endpoint for a raw path. Raises UnknownRoute, MethodNotAllowed, InvalidPartnerId."""
    if json_only(raw_path):  # /send/partners/...: no /v1 (docs/reference.md §12)
        name, partner_id, key = balance.match(raw_path[len(balance.PREFIX) :], method, query)
        if not PARTNER_ID.fullmatch(partner_id):
            raise problems.InvalidPartnerId()
        return Route(name, partner_id, key, None)
    if not raw_path.startswith(PREFIX):
        raise problems.UnknownRoute()
    segments = [_segment(s) for s in raw_path[len(PREFIX) :].split(b"/")]
    if len(segments) < 2 or segments[1] != "crossborder":
        raise problems.UnknownRoute()
    partner_id, rest = segments[0], segments[2:]
    route = _route(rest, method, partner_id, query)
    if not PARTNER_ID.fullmatch(partner_id):
        raise problems.InvalidPartnerId()
    return route


def _route(rest: list[str], method: str, partner_id: str, query: bytes) -> Route:
    if rest in ([], [""]):
        _allow(method, ("GET",))
        return Route("find", partner_id, _ref(query), None)
    if rest == ["payment"]:
        if method == "POST":
            return Route("create", partner_id, "", "paymentrequest")
        _allow(method, ("GET", "POST"))  # GET here retrieves a payment whose id is "payment"
    if len(rest) == 1 and rest[0]:
        _allow(method, ("GET",))
        return Route("get", partner_id, rest[0], None)
    if len(rest) == 2 and rest[0] and rest[1] == "cancel":
        _allow(method, ("GET", "POST"), head=False)  # D19: HEAD must not cancel
        return Route("cancel", partner_id, rest[0], "cancelpaymentrequest")
    raise problems.UnknownRoute()


def _allow(method: str, allowed: tuple[str, ...], *, head: bool = True) -> None:
    """Refuse a method outside ``allowed``; HEAD rides along with GET unless ``head`` is off."""
    if method not in allowed and not (head and method == "HEAD" and "GET" in allowed):
        raise problems.MethodNotAllowed(allowed)


def _segment(raw: bytes) -> str:
    try:
        return unquote(raw.decode("ascii"), errors="strict")
    except UnicodeError as exc:
        raise problems.UnknownRoute() from exc


def _ref(query: bytes) -> str:
    try:
        values = parse_qs(query.decode("ascii"), errors="strict").get("ref")
    except UnicodeError as exc:
        raise problems.UnknownRoute() from exc
    if not values or not values[0]:
        raise problems.UnknownRoute()
    return values[0]


def decode_body(route: Route, body: bytes, content_type_codec: Codec | None) -> Any:
    """The value under the endpoint's root element, or None for an empty body (D1, D9)."""
    if not body or route.root is None:
        return None
    if content_type_codec is None:
        raise problems.UnsupportedMediaType()
    try:
        document = content_type_codec.decode(body)
    except DecodeError as exc:
        raise problems.MalformedBody(str(exc)) from exc
    if route.root in document:
        return document[route.root]
    if route.name == "cancel" and content_type_codec is JSON:
        # Mastercard's reference client sends its cancel request unwrapped:
        # {"TransactionReference":null,"additional_data":null}. Its members are optional and
        # unknown members are ignored (D1), so the object itself is the request.
        return document
    raise problems.MalformedBody(f"root element must be {route.root}")


def run(route: Route, payload: Any, services: Services) -> dict[str, Any]:
    """Run the endpoint's use case and build the response document."""
    return _HANDLERS[route.name](route, payload, services)


def _create(route: Route, payload: Any, services: Services) -> dict[str, Any]:
    request = parse_payment_request(payload)
    payment = usecases.create_payment(
        route.partner_id,
        request,
        uow_factory=services.uow_factory,
        clock=services.clock,
        rules=services.rules,
    )
    return payment_view(payment)


def _get(route: Route, payload: Any, services: Services) -> dict[str, Any]:
    payment = usecases.get_payment(route.partner_id, route.key, uow_factory=services.uow_factory)
    return payment_view(payment, retrieve=True)


def _find(route: Route, payload: Any, services: Services) -> dict[str, Any]:
    payment = usecases.find_payment(route.partner_id, route.key, uow_factory=services.uow_factory)
    return payment_view(payment, retrieve=True)


def _cancel(route: Route, payload: Any, services: Services) -> dict[str, Any]:
    check_cancel_request(payload)
    usecases.cancel_payment(
        route.partner_id,
        route.key,
        uow_factory=services.uow_factory,
        clock=services.clock,
        rules=services.rules,
    )
    return CANCEL_SUCCESS


def check_cancel_request(payload: Any) -> None:
    """D21: the cancel request is absent, null, blank text or an object (D1), nothing else.

    A number, a boolean, an array or non-blank text (JSON numbers arrive as their text) is
    400 INVALID_INPUT_VALUE 082000 with Source ``cancelpaymentrequest``, before anything runs.
    """
    if payload is None or isinstance(payload, dict):
        return
    if isinstance(payload, str) and not payload.strip(" \t\r\n"):
        return
    raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "cancelpaymentrequest")])


_HANDLERS: dict[str, Callable[[Route, Any, Services], dict[str, Any]]] = {
    "create": _create,
    "get": _get,
    "find": _find,
    "cancel": _cancel,
    "accounts": lambda r, _p, s: balance.accounts(r.partner_id, r.key, s.uow_factory, s.clock),
    "account": lambda r, _p, s: balance.account(r.partner_id, r.key, s.uow_factory, s.clock),
}
