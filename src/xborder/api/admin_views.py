"""How the admin API, its live stream and the console show outbox events and delivery attempts."""

from __future__ import annotations

from typing import Any

from xborder.api.schemas import timestamp
from xborder.services.ports import DeliveryRecord, StatusEvent


def event_view(event: StatusEvent) -> dict[str, Any]:
    """An outbox row as the admin API lists it."""
    return {
        "id": event.id,
        "eventRef": event.event_ref,
        "paymentId": event.payment_id,
        "partnerId": event.partner_id,
        "transactionReference": event.transaction_reference,
        "previousStatus": event.previous_status,
        "status": event.status,
        "pendingStage": event.pending_stage,
        "occurredAt": timestamp(event.occurred_at, millis=True),
        "errorCode": event.error_code,
        "errorMessage": event.error_message,
        "deliveredAt": timestamp(event.delivered_at, millis=True),
    }


def delivery_view(record: DeliveryRecord) -> dict[str, Any]:
    """A webhook delivery attempt as the stream and the console show it."""
    return {
        "id": record.id,
        "eventId": record.outbox_id,
        "eventRef": record.event_ref,
        "partnerId": record.partner_id,
        "paymentId": record.payment_id,
        "status": record.status,
        "attempt": record.attempt,
        "startedAt": timestamp(record.started_at, millis=True),
        "httpStatus": record.status_code,
        "error": record.error,
        "durationMs": record.duration_ms,
        "outcome": record.outcome,
    }
