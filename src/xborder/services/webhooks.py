"""Status-change push (D14): the payload of docs/reference.md §10, and the operator's use cases.

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
from xborder.domain.projects import PARTNER_ID
from xborder.services.errors import EventNotRedeliverable, InvalidWebhookPartner, InvalidWebhookUrl
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
    """Register a partner id's webhook (D14), replacing any earlier one. Any partner id may
    have one, bound to a project or not: a sandbox partner gets pushes too (D18).

    Raises:
        InvalidWebhookUrl: the URL is not absolute http(s).
        InvalidWebhookPartner: the partner id is empty, too long or has characters no
            partner id has.
    """
    url = check_url(url)
    if not PARTNER_ID.fullmatch(partner_id):
        raise InvalidWebhookPartner(f"not a partner id: {partner_id!r}")
    with uow_factory() as uow:
        uow.webhooks.set_target(partner_id, url, secret)
        uow.commit()


def redeliver(event_id: int, *, uow_factory: UowFactory) -> None:
    """Send a finished (delivered, failed or skipped) event again, with fresh attempts.

    Raises:
        EventNotRedeliverable: no such event, or it is still waiting for delivery.
    """
    with uow_factory() as uow:
        if not uow.webhooks.requeue(event_id):
            raise EventNotRedeliverable(f"event {event_id} is unknown or still waiting")
        uow.commit()


def list_webhooks(*, uow_factory: UowFactory) -> list[tuple[str, str, bool]]:
    """Every registered webhook: partner id, URL, whether pushes are signed."""
    with uow_factory(readonly=True) as uow:
        return [(pid, t.url, t.secret is not None) for pid, t in uow.webhooks.targets()]


def list_deliveries(
    partner_id: str | None, payment_id: str | None, *, uow_factory: UowFactory
) -> list[DeliveryRecord]:
    """Recorded delivery attempts (D14), oldest first."""
    with uow_factory(readonly=True) as uow:
        return uow.webhooks.deliveries(partner_id, payment_id, MAX_DELIVERIES)
