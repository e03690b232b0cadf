"""Typed results: payments, cancellations and prefunded accounts.

Parsing is tolerant, as Mastercard asks of clients (new optional fields may appear at any
time): unknown members stay in ``document``, a value that cannot be typed is ``None`` there
and still readable in ``document``. Amounts are ``Decimal``, never ``float``; timestamps are
aware ``datetime`` values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Account", "Amount", "BalanceDetails", "Cancellation", "Payment", "RejectedStatus"]


@dataclass(frozen=True, slots=True)
class Amount:
    """A money amount as XBS sends it: a decimal string and an ISO 4217 currency."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}".strip()

    @classmethod
    def parse(cls, value: Any) -> Amount | None:
        """``{"amount": "100.00", "currency": "USD"}`` -> ``Amount``; blank or odd -> None."""
        if not isinstance(value, Mapping):
            return None
        number = _decimal(value.get("amount"))
        if number is None:
            return None
        return cls(number, str(value.get("currency") or ""))


@dataclass(frozen=True, slots=True)
class RejectedStatus:
    """Why a payment is REJECTED or RETURNED: a 6-digit code and its message."""

    code: str | None
    message: str | None


@dataclass(frozen=True)
class Payment:
    """A payment as the Payment and Retrieve APIs return it (docs/reference.md §2.3, §4).

    ``status`` is ``PENDING``, ``SUCCESS``, ``REJECTED``, ``RETURNED`` or ``CANCELLED``
    (kept as a string: a new value must not break a client). ``document`` is the whole
    ``payment`` object; ``raw`` the response body as received (decrypted).
    """

    id: str
    transaction_reference: str
    status: str
    pending_stage: str | None = None
    created: datetime | None = None
    status_timestamp: datetime | None = None
    pending_max_completion_date: datetime | None = None
    proposal_id: str | None = None
    payment_amount: Amount | None = None
    fees_amount: Amount | None = None
    charged_amount: Amount | None = None
    credited_amount: Amount | None = None
    principal_amount: Amount | None = None
    settlement_details: Amount | None = None
    fx_rate: Decimal | None = None
    cashout_code: str | None = None
    rejected_status: RejectedStatus | None = None
    return_message: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse(cls, value: Mapping[str, Any], raw: bytes = b"") -> Payment:
        """Build a payment from the value of a ``payment`` document."""
        return cls(
            id=_str(value.get("id")) or "",
            transaction_reference=_str(value.get("transaction_reference")) or "",
            status=_str(value.get("status")) or "",
            pending_stage=_str(value.get("pending_stage")),
            created=_datetime(value.get("created")),
            status_timestamp=_datetime(value.get("status_timestamp")),
            pending_max_completion_date=_datetime(value.get("pending_max_completion_date")),
            proposal_id=_str(value.get("proposal_id")),
            payment_amount=Amount.parse(value.get("payment_amount")),
            fees_amount=Amount.parse(value.get("fees_amount")),
            charged_amount=Amount.parse(value.get("charged_amount")),
            credited_amount=Amount.parse(value.get("credited_amount")),
            principal_amount=Amount.parse(value.get("principal_amount")),
            settlement_details=Amount.parse(value.get("settlement_details")),
            fx_rate=_decimal(value.get("fx_rate")),
            cashout_code=_str(value.get("cashout_code")),
            rejected_status=_rejected(value.get("rejected_status")),
            return_message=_message(value.get("return_status")),
            document=value,
            raw=raw,
        )


@dataclass(frozen=True)
class Cancellation:
    """The outcome of a cancel: ``status`` is ``SUCCESS``.

    ``confirmed`` is true when an answer was lost (timeout, connection, 5xx) and a Retrieve
    then showed the payment ``CANCELLED``; ``payment`` is that retrieved payment.
    ``attempts`` counts the cancel requests sent; ``raw`` is the cancel answer as received
    (empty when the success was confirmed by a Retrieve instead).
    """

    key: str
    status: str
    attempts: int = 1
    confirmed: bool = False
    payment: Payment | None = None
    raw: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class BalanceDetails:
    """The figures of a prefunded account (docs/reference.md §12, D16)."""

    opening_balance: Amount | None = None
    processed_amount: Amount | None = None
    reserved_balance: Amount | None = None
    available_balance: Amount | None = None
    settlement_account_balance: Amount | None = None
    queued_balance: Amount | None = None
    threshold_amount: Amount | None = None

    @classmethod
    def parse(cls, value: Any) -> BalanceDetails | None:
        """Build from a ``balanceDetails`` object (camelCase members)."""
        if not isinstance(value, Mapping):
            return None
        return cls(
            opening_balance=Amount.parse(value.get("openingBalance")),
            processed_amount=Amount.parse(value.get("processedAmount")),
            reserved_balance=Amount.parse(value.get("reservedBalance")),
            available_balance=Amount.parse(value.get("availableBalance")),
            settlement_account_balance=Amount.parse(value.get("settlementAccountBalance")),
            queued_balance=Amount.parse(value.get("queuedBalance")),
            threshold_amount=Amount.parse(value.get("thresholdAmount")),
        )


@dataclass(frozen=True)
class Account:
    """A prefunded settlement account (Balance API; balances only when asked for)."""

    account_id: str
    settlement_currency: str | None = None
    account_state: str | None = None
    opening_balance_timestamp: str | None = None
    balance_as_of: datetime | None = None
    balance_details: BalanceDetails | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, value: Mapping[str, Any]) -> Account:
        """Build an account from one Balance API ``Account`` object."""
        return cls(
            account_id=_str(value.get("accountId")) or "",
            settlement_currency=_str(value.get("settlementCurrency")),
            account_state=_str(value.get("accountState")),
            opening_balance_timestamp=_str(value.get("openingBalanceTimestamp")),
            balance_as_of=_datetime(value.get("balanceAsOfTimestamp")),
            balance_details=BalanceDetails.parse(value.get("balanceDetails")),
            document=value,
        )


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, (Mapping, list)):
        return None
    return str(value) or None


def _decimal(value: Any) -> Decimal | None:
    text = _str(value)
    if text is None:
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _datetime(value: Any) -> datetime | None:
    text = _str(value)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _rejected(value: Any) -> RejectedStatus | None:
    if not isinstance(value, Mapping):
        return None
    return RejectedStatus(_str(value.get("Code")), _str(value.get("Message")))


def _message(value: Any) -> str | None:
    return _str(value.get("Message")) if isinstance(value, Mapping) else None
