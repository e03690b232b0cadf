"""Domain errors. Each carries the XBS codes that identify it on the wire.

Which HTTP status an error becomes is decided in one table in ``xborder.api.errors``;
nothing here knows about HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from xborder.errors import XborderError


class ProblemKind(enum.Enum):
    """The four kinds of field problem of D8, with their XBS reason and detail codes."""

    MISSING = ("MISSING_REQUIRED_INPUT", "092000", "Missing Required Input")
    VALUE = ("INVALID_INPUT_VALUE", "082000", "Invalid Input Value")
    LENGTH = ("INVALID_INPUT_LENGTH", "072000", "Invalid length")
    FORMAT = ("INVALID_INPUT_FORMAT", "062000", "Value contains invalid character")

    def __init__(self, reason_code: str, detail_code: str, description: str) -> None:
        self.reason_code = reason_code
        self.detail_code = detail_code
        self.description = description


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one field: its kind and the field path (``sender.address.country``)."""

    kind: ProblemKind
    source: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a payment was refused: the XBS error that describes it (D7).

    ``message`` is the ``rejected_status.Message`` form of docs/reference.md §4:
    ``<ReasonCode>:<Description>[:<Source>]``.
    """

    detail_code: str
    reason_code: str
    description: str
    source: str = ""

    @property
    def message(self) -> str:
        parts = [self.reason_code, self.description]
        if self.source:
            parts.append(self.source)
        return ":".join(parts)


class DomainError(XborderError):
    """Base of domain errors; ``code`` is the stable ErrorDetailCode."""

    code: ClassVar[str] = "150001"


class ValidationFailed(DomainError):
    """Raised when a request breaks one or more field rules (D8); holds every problem found."""

    code = "082000"

    def __init__(self, problems: list[FieldProblem] | tuple[FieldProblem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__(", ".join(f"{p.kind.name}:{p.source}" for p in self.problems))


class PaymentNotFound(DomainError):
    """Raised when no payment with that id or reference exists for the partner (D6)."""

    code = "110507"


class CancellationNotPermitted(DomainError):
    """Raised when a payment exists but may not be cancelled now (D3, D6)."""

    code = "130111"


class ReferenceConflict(DomainError):
    """Raised when a transaction reference is reused with a different payload (D7)."""

    code = "082000"


class PaymentRejected(DomainError):
    """Raised when a payment is refused at submission; the payment is stored REJECTED (D7)."""

    def __init__(self, rejection: Rejection, payment_id: str | None = None) -> None:
        self.rejection = rejection
        self.payment_id = payment_id
        super().__init__(rejection.message)

    @property
    def detail_code(self) -> str:
        return self.rejection.detail_code


class InvalidTransition(DomainError):
    """Raised when a status change is not in the transition table."""

    code = "130111"

    def __init__(self, current: str, target: str) -> None:
        self.current = current
        self.target = target
        super().__init__(f"{current} -> {target}")


class InsufficientFunds(DomainError):
    """Raised when a reservation would take an account's available balance below zero (D16)."""

    code = "130196"


class LedgerViolation(DomainError):
    """Raised when an entry would break a ledger invariant of D16 (a programming error)."""


class AccountNotFound(DomainError):
    """Raised when the partner has no settlement account with that id (Balance API, D16)."""

    code = "130193"


class PrefundNotEnabled(DomainError):
    """Raised when the partner is not enabled for prefunding (Balance API sandbox, D16)."""

    code = "130192"


class ActionRefused(DomainError):
    """Raised when an operator action is illegal for the payment's current state (D17).

    ``action`` names the action (``settle``...); the message says why, for the operator.
    """

    code = "130111"

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"{action} refused: {reason}")


class UnpricedCurrency(ValueError):
    """Raised by :func:`xborder.domain.pricing.price` when a currency pair has no rate in the
    pricing table. Not a :class:`DomainError`: ``create_payment`` turns it into the payment's
    130101 rejection, so it never reaches the error table."""
