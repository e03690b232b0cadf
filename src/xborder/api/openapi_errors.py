"""The error responses of each operation, rendered by the one error table.

An operation names the errors it can raise as sample exceptions; each is rendered through
:func:`xborder.api.errors.render_error` and :func:`~xborder.api.errors.envelope`, so the
HTTP status, the ``Errors`` body and the extra headers (``Allow``, ``WWW-Authenticate``) of
the description are the server's own. Samples sharing a status become one response with
one example each. Every class of :data:`~xborder.api.errors.ERROR_TABLE` appears in some
operation (the tests hold the description to that).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xborder.api import problems
from xborder.api.codecs import JSON, XML
from xborder.api.errors import SYSTEM_ERROR, Rendered, envelope, render_error
from xborder.api.openapi_schemas import CANCEL_REQUEST, ref
from xborder.domain import errors as domain
from xborder.domain.codes import rejection_for
from xborder.security import errors as security
from xborder.services import errors as services
from xborder.services.payments import SOURCE_CANCEL, SOURCE_RETRIEVE

EXAMPLE_REQUEST_ID = "1234567890"
JSON_ONLY = frozenset({406})
"""D9: an Accept naming neither JSON nor XML is answered in JSON."""


class SystemFailure(Exception):
    """Stands for any unexpected failure: 500 SYSTEM_ERROR 150001 (D6)."""


def value_problem(source: str) -> domain.ValidationFailed:
    """400 INVALID_INPUT_VALUE 082000 with Source ``source``."""
    return domain.ValidationFailed([domain.FieldProblem(domain.ProblemKind.VALUE, source)])


GATEWAY: tuple[BaseException, ...] = (
    security.AuthHeaderInvalid("no OAuth Authorization header"),
    security.AuthDeclined("unknown consumer key"),
    security.AuthenticationFailed("signature does not verify"),
    security.PayloadDecryptionError("encrypted payload does not decrypt"),
    security.EncryptionRequired("project requires encrypted request payloads"),
)
"""D11, D12, D20: every signed XBS and Balance operation (D20 refuses any request of a
``required`` project that carries a plaintext body, whatever the operation)."""

REQUEST: tuple[BaseException, ...] = (
    problems.NotAcceptable(),
    problems.InvalidPartnerId(),
    problems.MethodNotAllowed(("GET", "POST")),
    problems.BodyTooLarge(),
    SystemFailure(),
)
"""D8, D9: every XBS and Balance operation."""

BODY: tuple[BaseException, ...] = (problems.UnsupportedMediaType(), problems.MalformedBody())
"""D9: operations that read a body."""

CREATE: tuple[BaseException, ...] = (
    domain.ValidationFailed(
        [
            domain.FieldProblem(domain.ProblemKind.MISSING, "recipient_account_uri"),
            domain.FieldProblem(domain.ProblemKind.LENGTH, "sender.address.country"),
        ]
    ),
    domain.PaymentRejected(rejection_for("130101")),
    domain.PaymentRejected(rejection_for("110507")),  # sandbox trigger 2...<code> (D15)
    domain.PaymentRejected(rejection_for("150001")),
    domain.ReferenceConflict(),
)
RETRIEVE: tuple[BaseException, ...] = (domain.PaymentNotFound(SOURCE_RETRIEVE),)
FIND: tuple[BaseException, ...] = (*RETRIEVE, problems.UnknownRoute("no ?ref= given"))
CANCEL: tuple[BaseException, ...] = (
    value_problem(CANCEL_REQUEST),
    domain.PaymentNotFound(SOURCE_CANCEL),
    domain.CancellationNotPermitted(),
    domain.InvalidTransition("CANCELLED", "CANCELLED"),
)
ACCOUNTS: tuple[BaseException, ...] = (value_problem("include_balance"), domain.PrefundNotEnabled())
ACCOUNT: tuple[BaseException, ...] = (domain.AccountNotFound(), domain.PrefundNotEnabled())

ADMIN: tuple[BaseException, ...] = (
    problems.AdminUnauthorized(),
    problems.UnknownRoute("no admin route has this path"),
    SystemFailure(),
)
ADMIN_BODY: tuple[BaseException, ...] = (*ADMIN, problems.MalformedBody("body is not JSON"))
ADMIN_PAYMENT: tuple[BaseException, ...] = (
    *ADMIN,
    domain.PaymentNotFound("admin"),
    domain.ActionRefused("settle", "payment is not EligibleForSettlement"),
    domain.InsufficientFunds("available 0.00 < 100.00"),
)
ADMIN_GRANT: tuple[BaseException, ...] = (
    *ADMIN,
    services.GrantNotFound("no such grant"),
    services.GrantDecided("the grant is ISSUED, not PENDING"),
)
CLOCK_REFUSED = services.ClockNotControllable("set XBORDER_CLOCK=controllable to move the clock")


def rendered(samples: Iterable[BaseException]) -> dict[int, list[Rendered]]:
    """The distinct renderings of ``samples`` by HTTP status."""
    by_status: dict[int, list[Rendered]] = {}
    for sample in samples:
        found = render_error(sample) if not isinstance(sample, SystemFailure) else SYSTEM_ERROR
        bucket = by_status.setdefault(found.status, [])
        if found not in bucket:
            bucket.append(found)
    return dict(sorted(by_status.items()))


def error_responses(
    samples: Iterable[BaseException], *, xml: bool = True
) -> dict[str, dict[str, Any]]:
    """The ``responses`` entries of an operation's errors, keyed by status."""
    return {
        str(status): _response(found, xml=xml and status not in JSON_ONLY)
        for status, found in rendered(samples).items()
    }


def _response(found: list[Rendered], *, xml: bool) -> dict[str, Any]:
    documents = [envelope(item, EXAMPLE_REQUEST_ID) for item in found]
    titles = _titles(found)
    content: dict[str, Any] = {
        JSON.media_type: {
            "schema": ref("Errors"),
            "examples": {
                title: {"value": _plain(document)}
                for title, document in zip(titles, documents, strict=True)
            },
        }
    }
    if xml:
        content[XML.media_type] = {
            "schema": ref("ErrorsXml"),
            "examples": {
                title: {"value": XML.encode(document).decode("utf-8")}
                for title, document in zip(titles, documents, strict=True)
            },
        }
    response: dict[str, Any] = {"description": "; ".join(titles), "content": content}
    headers = {name for item in found for name, _value in item.headers}
    if headers:
        response["headers"] = {name: {"schema": {"type": "string"}} for name in sorted(headers)}
    return response


def _titles(found: list[Rendered]) -> list[str]:
    """One example name per rendering; a name taken already gets the Description added
    (D12's and D20's 062000 differ only there)."""
    titles: list[str] = []
    for item in found:
        title = _title(item)
        titles.append(f"{title}: {item.items[0].description}" if title in titles else title)
    return titles


def _title(item: Rendered) -> str:
    first = item.items[0]
    code = f" {first.detail_code}" if first.detail_code else ""
    more = f" (+{len(item.items) - 1})" if len(item.items) > 1 else ""
    return f"{first.reason_code}{code} {first.source or '-'}{more}"


def _plain(value: Any) -> Any:
    """The document as JSON carries it (the codec's NULL marker becomes null)."""
    return JSON.decode(JSON.encode(value))
