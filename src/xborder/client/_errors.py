"""Errors the client raises, built from the XBS ``Errors`` body (docs/reference.md §5, D6-D12).

Hierarchy::

    XborderError                    (xborder.errors)
    └── ClientError                 anything xborder.client raises on purpose
        ├── ApiError                the server answered with an error status
        │   ├── ValidationError     400/405/406/413/415: 092000, 082000, 072000, 062000
        │   │                       (D8, D9, and D12's undecryptable payload)
        │   ├── AuthenticationError 400 INVALID_AUTH_HEADER, 401 DECLINED, 403
        │   │                       AUTHENTICATION_FAILED; Source ``Gateway`` (D11)
        │   ├── DeclinedError       402 DECLINE 130xxx: refused by a business rule (D6, D7)
        │   ├── NotFoundError       404 RESOURCE_UNKNOWN 110507 (D6)
        │   ├── ConflictError       409 INVALID_INPUT_VALUE 082000 on transaction_reference (D7)
        │   └── ServerError         5xx SYSTEM_ERROR 150001: the outcome is unknown (D6)
        ├── TransportError          no answer: connection failed or timed out, after any retries
        ├── ResponseError           an answer that cannot be understood (format, decryption)
        ├── AuthorizationError      the OAuth 2.0 authorization server refused (D23; RFC
        │                           6749's ``error``)
        └── ConsentPending          an mtf/production grant waits for an operator (D23)

Which class an answer becomes is decided in one place, :func:`error_class`, from the HTTP
status, the ``ReasonCode`` and the ``Source`` of the first ``Error``; nothing else in the
client chooses an error class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xborder.errors import XborderError

__all__ = [
    "ApiError",
    "AuthenticationError",
    "AuthorizationError",
    "ClientError",
    "ConflictError",
    "ConsentPending",
    "DeclinedError",
    "ErrorItem",
    "NotFoundError",
    "ResponseError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "error_class",
    "error_items",
]

GATEWAY_REASONS = frozenset({"INVALID_AUTH_HEADER", "DECLINED", "AUTHENTICATION_FAILED"})
"""Reason codes of the API gateway (D11); they come with Source ``Gateway``."""


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One ``Error`` of an ``Errors`` body; absent members are ``None``."""

    reason_code: str | None
    error_detail_code: str | None
    source: str | None
    description: str | None
    request_id: str | None
    recoverable: bool | None = None


class ClientError(XborderError):
    """Root of every error ``xborder.client`` raises on purpose."""


class ApiError(ClientError):
    """Raised when the server answers with an error status (its ``Errors`` body parsed).

    The attributes are those of the first ``Error``; ``errors`` holds all of them (a
    validation failure lists one per problem). ``body`` is the response body as received.
    """

    def __init__(self, status: int, errors: Sequence[ErrorItem] = (), body: bytes = b"") -> None:
        self.status = status
        self.errors = tuple(errors)
        self.body = body
        first = self.errors[0] if self.errors else ErrorItem(None, None, None, None, None)
        self.reason_code = first.reason_code
        self.error_detail_code = first.error_detail_code
        self.source = first.source
        self.description = first.description
        self.request_id = first.request_id
        super().__init__(self._summary())

    def _summary(self) -> str:
        parts = [str(self.status), self.reason_code, self.error_detail_code, self.description]
        text = " ".join(p for p in parts if p)
        if self.source:
            text += f" (Source {self.source})"
        if len(self.errors) > 1:
            text += f" and {len(self.errors) - 1} more"
        return text


class ValidationError(ApiError):
    """Raised when the request breaks a field or format rule (400, 405, 406, 413, 415)."""


class AuthenticationError(ApiError):
    """Raised when the gateway refuses the credentials or the signature (400/401/403)."""


class DeclinedError(ApiError):
    """Raised when a business rule refuses the request (402 DECLINE, e.g. 130111)."""


class NotFoundError(ApiError):
    """Raised when no payment or account has that id or reference (404, 110507)."""


class ConflictError(ApiError):
    """Raised when a transaction reference is reused with another payload (409, D7)."""


class ServerError(ApiError):
    """Raised on a 5xx answer: the outcome is unknown, retries were exhausted."""


class TransportError(ClientError):
    """Raised when no answer came: the connection failed or timed out (after retries)."""


class ResponseError(ClientError):
    """Raised when an answer cannot be understood: unknown format, undecryptable payload."""


class AuthorizationError(ClientError):
    """Raised when the authorization server refuses a step of the authorization-code flow
    (D23): ``error`` is RFC 6749's code (``invalid_grant``, ``invalid_client``, …, or
    ``access_denied`` when an operator denied the grant)."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{status} {error}" + (f": {description}" if description else ""))


class ConsentPending(ClientError):
    """Raised when the Balance API's grant of an mtf or production project waits for an
    operator's consent (D23): ask them to approve ``grant_id``, then call again; the same
    auth collects the code of that grant."""

    def __init__(self, grant_id: str, poll_url: str) -> None:
        self.grant_id = grant_id
        self.poll_url = poll_url
        super().__init__(f"grant {grant_id} waits for an operator's consent")


def error_class(status: int, reason_code: str | None, source: str | None) -> type[ApiError]:
    """The exception class for an error answer: the one table of the client."""
    if source == "Gateway" or reason_code in GATEWAY_REASONS or status in (401, 403):
        return AuthenticationError
    if status == 409:
        return ConflictError
    if status >= 500 or reason_code == "SYSTEM_ERROR":
        return ServerError
    if status == 404 or reason_code == "RESOURCE_UNKNOWN":
        return NotFoundError
    if status == 402 or reason_code == "DECLINE":
        return DeclinedError
    if 400 <= status < 500:
        return ValidationError
    return ApiError


def error_items(document: Mapping[str, Any] | None) -> list[ErrorItem]:
    """The ``Error`` entries of an ``Errors`` document (one object or a list of them)."""
    if not isinstance(document, Mapping):
        return []
    errors = document.get("Errors")
    error = errors.get("Error") if isinstance(errors, Mapping) else None
    entries = error if isinstance(error, list) else [error]
    return [_item(entry) for entry in entries if isinstance(entry, Mapping)]


def _item(entry: Mapping[str, Any]) -> ErrorItem:
    return ErrorItem(
        reason_code=_text(entry.get("ReasonCode")),
        error_detail_code=_detail_code(entry.get("Details")),
        source=_text(entry.get("Source")),
        description=_text(entry.get("Description")),
        request_id=_text(entry.get("RequestId")),
        recoverable=_flag(entry.get("Recoverable")),
    )


def _detail_code(details: Any) -> str | None:
    detail = details.get("Detail") if isinstance(details, Mapping) else None
    for entry in detail if isinstance(detail, list) else [detail]:
        if isinstance(entry, Mapping) and entry.get("Name") == "ErrorDetailCode":
            return _text(entry.get("Value"))
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (Mapping, list)):
        return None
    text = str(value).strip()  # the samples carry "DECLINE " with a trailing space
    return text or None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value)
    return None if text is None else text.lower() == "true"
