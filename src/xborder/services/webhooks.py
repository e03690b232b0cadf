"""Status-change push (D14): the payload of xbs-api.md §10, and the operator's use cases.

:func:`push_payload` is pure: an outbox row, the payment as it is at delivery time, and the
payment's events up to that row give the camelCase ``STATUS_CHG`` document. The sender
(:mod:`xborder.services.webhook_sender`) encodes and POSTs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from xborder.domain.model import Payment
from xborder.domain.money import Money
from xborder.errors import XborderError
from xborder.services.payments import UowFactory
from xborder.services.ports import DeliveryRecord, StatusEvent

DELIVERED, FAILED, SKIPPED = "DELIVERED", "FAILED", "SKIPPED"
"""An outbox row's ``outcome``; null while it waits."""

MAX_DELIVERIES = 1000

_ECHOED = (  # request fields copied into ``payment``, in §10's order, renamed to camelCase
    "proposal_id",
    "payment_type",
    "sender_account_uri",
    "recipient_account_uri",
    "payment_origination_country",
    "purpose_of_payment",
    "receiving_bank_name",
    "receiving_bank_branch_name",
    "bank_code",
    "source_of_income",
    "payment_file_identifier",
)


class WebhookError(XborderError):
    """A webhook registration was refused."""


class InvalidWebhookUrl(WebhookError):
    """The URL is not an absolute http(s) URL."""


class PartnerWithoutBinding(WebhookError):
    """Only bound (mtf, production) partners get a push: Mastercard's has no sandbox (§10)."""


def push_payload(
    event: StatusEvent, payment: Payment, history: Sequence[StatusEvent]
) -> dict[str, Any]:
    """The §10 ``STATUS_CHG`` document for ``event`` (D14); ``history`` newest first."""
    return {
        "partnerId": event.partner_id,
        "eventRef": event.event_ref,
        "eventType": "STATUS_CHG",
        "transactionReference": event.transaction_reference,
        "transactionType": "PAYMENT",
        "payment": _payment(event, payment),
        "transactionHistories": [_history_item(item) for item in history],
    }


def _payment(event: StatusEvent, payment: Payment) -> dict[str, Any]:
    request = payment.request
    document: dict[str, Any] = {_camel(name): request.get(name) for name in _ECHOED}
    document["transactionStatus"] = _omit_none(
        {"status": event.status, "errorCode": event.error_code, "errorMessage": event.error_message}
    )
    quote = payment.quote
    if quote is not None:
        document["fxRate"] = float(quote.fx_rate)
        document["chargedAmount"] = _amount(quote.charged)
        document["creditedAmount"] = _amount(quote.credited)
        document["principalAmount"] = _amount(quote.principal)
        document["feeAmount"] = _amount(quote.fees)
        document["settlementDetails"] = {
            "amount": quote.settlement.to_wire(),
            "currency": quote.settlement.currency,
        }
    document["cashoutCode"] = payment.cashout_code
    return _omit_none(document)


def _amount(money: Money) -> dict[str, Any]:
    """§10 amounts are JSON numbers (``settlementDetails`` keeps a string)."""
    return {"amount": float(money.amount), "currency": money.currency}


def _history_item(event: StatusEvent) -> dict[str, Any]:
    return {
        "notificationId": event.event_ref,
        "status": event.status,
        "stage": event.pending_stage,
        "timestamp": event.occurred_at.isoformat(timespec="milliseconds"),
    }


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _omit_none(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if value is not None}


def check_url(url: str) -> str:
    """An absolute ``http``/``https`` URL, or :class:`InvalidWebhookUrl`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise InvalidWebhookUrl(f"not an absolute http(s) URL: {url!r}")
    return url.strip()


def set_webhook(partner_id: str, url: str, secret: str | None, *, uow_factory: UowFactory) -> None:
    """Register a bound partner's webhook (D14), replacing any earlier one.

    Raises:
        InvalidWebhookUrl: the URL is not absolute http(s).
        PartnerWithoutBinding: the partner is not bound to an mtf or production project.
    """
    url = check_url(url)
    with uow_factory() as uow:
        if not uow.webhooks.set_target(partner_id, url, secret):
            raise PartnerWithoutBinding(
                f"partner {partner_id} is not bound to a project; sandbox partners get no push"
            )
        uow.commit()


def list_deliveries(
    partner_id: str | None, payment_id: str | None, *, uow_factory: UowFactory
) -> list[DeliveryRecord]:
    """Recorded delivery attempts (D14), oldest first."""
    with uow_factory(readonly=True) as uow:
        return uow.webhooks.deliveries(partner_id, payment_id, MAX_DELIVERIES)
