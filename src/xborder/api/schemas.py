"""Wire views of payments: the ``payment`` and ``cancelpayment`` documents.

Field order follows Mastercard's samples (docs/reference.md §2.3, §4); absent or empty values are
left out (D10); amounts are decimal strings; timestamps are UTC with an explicit offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from xborder.domain.model import Payment
from xborder.domain.money import Money
from xborder.domain.states import PaymentStatus

RESOURCE_TYPE = "payment"
_ECHO_BEFORE_SETTLEMENT = (
    "sender_account_uri",
    "recipient_account_uri",
    "payment_amount",
    "payment_origination_country",
    "fx_type",
    "receiving_bank_name",
    "receiving_bank_branch_name",
    "bank_code",
    "payment_type",
    "source_of_income",
)
_ECHO_AFTER = ("payment_file_identifier", "card_rate_id")


def timestamp(value: datetime | None, *, millis: bool = False) -> str | None:
    """ISO 8601 in UTC with an explicit ``+00:00`` offset (D10)."""
    if value is None:
        return None
    spec = "milliseconds" if millis else "seconds"
    if value.tzinfo is UTC:  # the naive time's text and the offset: an aware one's costs more
        return datetime.combine(value.date(), value.time()).isoformat(timespec=spec) + "+00:00"
    return value.isoformat(timespec=spec)


def _money(value: Money | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"currency": value.currency, "amount": value.to_wire()}


def payment_view(payment: Payment, *, retrieve: bool = False) -> dict[str, Any]:
    """The ``payment`` document for a create (``retrieve=False``) or a Retrieve answer."""
    if retrieve and payment.status in (PaymentStatus.REJECTED, PaymentStatus.RETURNED):
        return {"payment": _minimal_view(payment)}
    request = payment.request
    quote = payment.quote
    view: dict[str, Any] = {
        "transaction_reference": payment.transaction_reference,
        "status": payment.status.value,
        "id": payment.id,
        "proposal_id": request.get("proposal_id"),
        "resource_type": RESOURCE_TYPE,
        "created": timestamp(payment.created),
        "status_timestamp": timestamp(payment.status_timestamp),
        "pending_stage": payment.pending_stage.value if payment.pending_stage else None,
        # Mastercard's samples carry milliseconds here (and only here).
        "pending_max_completion_date": timestamp(payment.pending_max_completion_date, millis=True),
        "fees_amount": _money(quote.fees) if quote else None,
        "charged_amount": _money(quote.charged) if quote else None,
        "credited_amount": _money(quote.credited) if quote else None,
        "principal_amount": _money(quote.principal) if quote else None,
    }
    view.update((name, request.get(name)) for name in _ECHO_BEFORE_SETTLEMENT)
    view["payment_amount"] = _currency_first(request.get("payment_amount"))
    view["settlement_details"] = _money(quote.settlement) if quote else None
    view["cashout_code"] = payment.cashout_code
    view["fx_rate"] = _rate(quote.fx_rate) if quote else None
    view["additional_data_list"] = _additional_data_list(request.get("additional_data"))
    view.update((name, request.get(name)) for name in _ECHO_AFTER)
    return {"payment": _omit_empty(view)}


def _minimal_view(payment: Payment) -> dict[str, Any]:
    """REJECTED and RETURNED payments are retrieved minimal, as in Mastercard's samples
    (docs/reference.md §4); a RETURNED one also names its ``payment_type``."""
    view: dict[str, Any] = {
        "transaction_reference": payment.transaction_reference,
        "status": payment.status.value,
        "id": payment.id,
        "resource_type": RESOURCE_TYPE,
    }
    if payment.status is PaymentStatus.RETURNED:
        view["payment_type"] = payment.request.get("payment_type")
    view.update(_reason(payment))
    return _omit_empty(view)


def _reason(payment: Payment) -> dict[str, Any]:
    reason: dict[str, Any] = {}
    if payment.status in (PaymentStatus.REJECTED, PaymentStatus.RETURNED) and payment.rejection:
        reason["rejected_status"] = {
            "Code": payment.rejection.detail_code,
            "Message": payment.rejection.message,
        }
    if payment.status is PaymentStatus.RETURNED and payment.return_message:
        reason["return_status"] = {"Message": payment.return_message}
    return reason


def _currency_first(amount: Any) -> Any:
    """Amount objects are answered currency first, as in Mastercard's payment samples."""
    if not isinstance(amount, dict):
        return amount
    return {"currency": amount.get("currency"), "amount": amount.get("amount")}


def _rate(rate: Any) -> str:
    text = format(rate, "f")
    return text if "." in text else text + ".0"


def _additional_data_list(additional: Any) -> dict[str, Any] | None:
    fields = additional.get("data_field") if isinstance(additional, dict) else None
    if not fields:
        return None
    return {
        "resource_type": "list",
        "item_count": str(len(fields)),
        "data": {"data_field": fields},
    }


_EMPTY_KINDS = (str, dict, list)


def _omit_empty(view: dict[str, Any]) -> dict[str, Any]:
    """``view`` without its members that are None, "", {} or [] (0 and false stay): most
    values are true, which one test tells, where comparing each with the four empty values
    cost a Retrieve's view a fifth of its time."""
    return {
        k: v for k, v in view.items() if v or (v is not None and not isinstance(v, _EMPTY_KINDS))
    }


CANCEL_SUCCESS: dict[str, Any] = {"cancelpayment": {"status": "SUCCESS"}}
"""The cancel answer (D5)."""
