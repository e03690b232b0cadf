"""One table from error class to HTTP status and ``Errors`` body (D6, D7, D8, D9, D11, D12, D20).

Nothing else in xborder decides an HTTP status for an error. Every error a client can cause
is in the table; anything else becomes 500 SYSTEM_ERROR 150001 with an empty Source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xborder.api import problems
from xborder.api.codecs import NULL
from xborder.domain import errors as domain
from xborder.domain.codes import KNOWN_CODES
from xborder.security import errors as security
from xborder.services import errors as services


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One ``Error`` of the envelope."""

    reason_code: str
    description: str
    source: str = ""
    detail_code: str | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """An HTTP status, the envelope's items, and extra response headers."""

    status: int
    items: tuple[ErrorItem, ...]
    headers: tuple[tuple[str, str], ...] = ()
    request_id: bool = True


def _code(code: str, source: str = "") -> ErrorItem:
    reason, description = KNOWN_CODES[code]
    return ErrorItem(reason, description, source, code)


def _validation(exc: domain.ValidationFailed) -> Rendered:
    items = tuple(
        ErrorItem(p.kind.reason_code, p.kind.description, p.source, p.kind.detail_code)
        for p in exc.problems
    )
    return Rendered(400, items)


_REJECTION_STATUS = {"DECLINE": 402, "SYSTEM_ERROR": 500, "RESOURCE_UNKNOWN": 404}


def _rejected(exc: domain.PaymentRejected) -> Rendered:
    r = exc.rejection
    status = _REJECTION_STATUS.get(r.reason_code, 400 if r.detail_code.endswith("2000") else 402)
    return Rendered(status, (ErrorItem(r.reason_code, r.description, r.source, r.detail_code),))


def _not_found(exc: BaseException) -> Rendered:
    return Rendered(404, (_code("110507", str(exc) or "GetPayment"),))


def _method(exc: problems.MethodNotAllowed) -> Rendered:
    return Rendered(405, (_code("082000", exc.source),), (("Allow", ", ".join(exc.allowed)),))


def _fixed(
    status: int, code: str, source: str | None = None
) -> Callable[[BaseException], Rendered]:
    def render(exc: BaseException) -> Rendered:
        item_source = source if source is not None else getattr(exc, "source", "")
        return Rendered(status, (_code(code, item_source),))

    return render


def _gateway(status: int, description: str) -> Callable[[security.OAuthError], Rendered]:
    """D11: Source ``Gateway``, no ErrorDetailCode (``"Details": null``), no RequestId."""

    def render(exc: security.OAuthError) -> Rendered:
        item = ErrorItem(exc.reason_code, description, exc.source)
        return Rendered(status, (item,), request_id=False)

    return render


def _encrypted_payload(exc: security.PayloadDecryptionError) -> Rendered:
    """D12: 400 062000 Source ``Encrypted Payload``, RequestId null."""
    return Rendered(400, (_code(exc.detail_code, exc.source),), request_id=False)


ENCRYPTION_REQUIRED = "Request payload must be encrypted"
"""D20: the Description of :class:`~xborder.security.errors.EncryptionRequired`."""


def _encryption_required(exc: security.EncryptionRequired) -> Rendered:
    """D20: as D12's error, with the Description the policy's ruling gives."""
    reason, _description = KNOWN_CODES[exc.detail_code]
    item = ErrorItem(reason, ENCRYPTION_REQUIRED, exc.source, exc.detail_code)
    return Rendered(400, (item,), request_id=False)


def _refused(exc: domain.ActionRefused | services.ClockNotControllable) -> Rendered:
    """D17: an operator action the payment's state (or the deployment) does not allow."""
    source = exc.action if isinstance(exc, domain.ActionRefused) else "clock"
    return Rendered(409, (ErrorItem("DECLINE", str(exc), source, "130111"),))


def _admin_unauthorized(exc: problems.AdminUnauthorized) -> Rendered:
    """D17: the admin API's own credential is missing or wrong."""
    item = ErrorItem("DECLINED", "Unauthorized - admin bearer token required", exc.source)
    return Rendered(401, (item,), (("WWW-Authenticate", 'Bearer realm="xborder-admin"'),))


ERROR_TABLE: dict[type[BaseException], Callable[[Any], Rendered]] = {
    domain.ValidationFailed: _validation,
    domain.PaymentRejected: _rejected,
    domain.PaymentNotFound: _not_found,
    domain.CancellationNotPermitted: _fixed(402, "130111", "CancelPayment"),
    domain.InvalidTransition: _fixed(402, "130111", "CancelPayment"),
    domain.ReferenceConflict: _fixed(409, "082000", "transaction_reference"),
    problems.UnsupportedMediaType: _fixed(415, "062000"),
    problems.NotAcceptable: _fixed(406, "062000"),
    problems.MalformedBody: _fixed(400, "062000"),
    problems.BodyTooLarge: _fixed(413, "072000"),
    problems.InvalidPartnerId: _fixed(400, "082000"),
    problems.UnknownRoute: _fixed(404, "110507"),
    problems.MethodNotAllowed: _method,
    security.AuthHeaderInvalid: _gateway(400, "Invalid or missing Authorization header"),
    security.AuthDeclined: _gateway(401, "Unauthorized - Access Not Granted"),
    security.AuthenticationFailed: _gateway(403, "OAuth signature verification failed"),
    security.PayloadDecryptionError: _encrypted_payload,
    security.EncryptionRequired: _encryption_required,  # D20
    domain.AccountNotFound: _fixed(404, "130193", ""),  # Balance API (D16)
    domain.PrefundNotEnabled: _fixed(402, "130192", ""),
    domain.InsufficientFunds: _fixed(402, "130196", ""),
    domain.ActionRefused: _refused,  # admin API (D17)
    services.ClockNotControllable: _refused,
    problems.AdminUnauthorized: _admin_unauthorized,
    services.GrantNotFound: _fixed(404, "110507", "grant"),  # admin API (D23)
    services.GrantDecided: _fixed(409, "082000", "grant"),
}
"""Error class -> renderer. Looked up along the class's MRO, most specific first."""

SYSTEM_ERROR = Rendered(500, (_code("150001"),))


def render_error(exc: BaseException) -> Rendered:
    """The status and envelope items for ``exc``."""
    for cls in type(exc).__mro__:
        renderer = ERROR_TABLE.get(cls)
        if renderer is not None:
            return renderer(exc)
    return SYSTEM_ERROR


def envelope(rendered: Rendered, request_id: str | None) -> dict[str, Any]:
    """The ``Errors`` document of docs/reference.md §5.1: one ``Error`` object, or a list."""
    errors = [_error(item, request_id if rendered.request_id else None) for item in rendered.items]
    return {"Errors": {"Error": errors[0] if len(errors) == 1 else errors}}


def _error(item: ErrorItem, request_id: str | None) -> dict[str, Any]:
    details: Any = NULL  # gateway errors carry "Details": null (docs/reference.md §8.3)
    if item.detail_code is not None:
        details = {"Detail": {"Name": "ErrorDetailCode", "Value": item.detail_code}}
    return {
        "RequestId": request_id if request_id is not None else NULL,
        "Source": item.source,
        "ReasonCode": item.reason_code,
        "Description": item.description,
        "Recoverable": "false",
        "Details": details,
    }
