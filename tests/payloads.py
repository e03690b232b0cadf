"""Builders for request bodies used across the suites."""

from __future__ import annotations

from typing import Any

from xborder.api.codecs import JSON, XML

BASE = "/send/v1/partners/{partner}/crossborder"
PARTNER = "SANDBOX_PARTNER1"


def payment_request(
    reference: str,
    *,
    recipient_uri: str = "tel:+254108989",
    payment_type: str = "P2P",
    additional: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid ``paymentrequest`` (P2P, forward, fees included) with overrides."""
    body: dict[str, Any] = {
        "transaction_reference": reference,
        "sender_account_uri": "tel:+12125551234",
        "recipient_account_uri": recipient_uri,
        "payment_amount": {"amount": "100.00", "currency": "USD"},
        "payment_origination_country": "USA",
        "fx_type": {"forward": {"fees_included": "true", "receiver_currency": "KES"}},
        "payment_type": payment_type,
        "sender": {
            "first_name": "John",
            "last_name": "Jones",
            "address": {"line1": "1 Main St", "city": "New York", "country": "USA"},
        },
        "recipient": {
            "first_name": "Mary",
            "last_name": "Wanjiru",
            "address": {"line1": "2 Moi Avenue", "city": "Nairobi", "country": "KEN"},
        },
        "purpose_of_payment": "Family Maintenance",
    }
    if additional:
        body["additional_data"] = {"data_field": [{"name": n, "value": v} for n, v in additional]}
    body.update(extra)
    return body


def encode(document: dict[str, Any], fmt: str) -> tuple[bytes, dict[str, str]]:
    """Bytes and headers for ``document`` in ``fmt`` (``json`` or ``xml``)."""
    codec = JSON if fmt == "json" else XML
    return codec.encode(document), {"Content-Type": codec.media_type, "Accept": codec.media_type}


def decode(content: bytes, fmt: str) -> dict[str, Any]:
    return (JSON if fmt == "json" else XML).decode(content)


def path(suffix: str = "", partner: str = PARTNER) -> str:
    return BASE.format(partner=partner) + suffix
