"""The push payload's field names and types against docs/reference.md §10, and the signature
(D14)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from xborder.domain.channels import Channel
from xborder.domain.model import Payment
from xborder.domain.money import Money
from xborder.domain.pricing import Quote
from xborder.domain.states import PaymentStatus
from xborder.security.webhook_signature import sign, signature, verify
from xborder.services.ports import StatusEvent
from xborder.services.webhooks import push_payload

AT = datetime(2026, 11, 26, 12, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def payment() -> Payment:
    return Payment(
        id="rem_1",
        partner_id="P1",
        transaction_reference="REF-1",
        request={
            "payment_type": "P2P",
            "sender_account_uri": "tel:+1",
            "recipient_account_uri": "ewallet:mary;sp=cashco",
            "purpose_of_payment": "FAMILY_SUPPORT",
        },
        request_fingerprint="x",
        channel=Channel.MOBILE_MONEY,
        provider="cashco",
        status=PaymentStatus.REJECTED,
        pending_stage=None,
        created=AT,
        status_timestamp=AT,
        quote=Quote(
            Decimal("0.91"),
            usd("1.50"),
            usd("101.50"),
            Money.of("91.00", "EUR"),
            usd("100.00"),
            usd("101.50"),
        ),
    )


def event(n: int, status: str, stage: str | None, **extra: str) -> StatusEvent:
    return StatusEvent(
        id=n,
        event_ref=f"ref-{n}",
        payment_id="rem_1",
        partner_id="P1",
        transaction_reference="REF-1",
        previous_status="PENDING",
        status=status,
        pending_stage=stage,
        occurred_at=AT + timedelta(minutes=n),
        error_code=extra.get("code"),
        error_message=extra.get("message"),
        delivered_at=None,
    )


def test_payload_follows_section_10() -> None:
    rejected = event(2, "REJECTED", None, code="130101", message="DECLINE:Declined")
    history = [rejected, event(1, "PENDING", "Processing")]
    document = push_payload(rejected, payment(), history)
    assert list(document) == [
        "partnerId",
        "eventRef",
        "eventType",
        "transactionReference",
        "transactionType",
        "payment",
        "transactionHistories",
    ]
    assert (document["eventRef"], document["eventType"], document["transactionType"]) == (
        "ref-2",
        "STATUS_CHG",
        "PAYMENT",
    )
    body = document["payment"]
    assert body["transactionStatus"] == {
        "status": "REJECTED",
        "errorCode": "130101",
        "errorMessage": "DECLINE:Declined",
    }
    assert body["paymentType"] == "P2P" and body["senderAccountUri"] == "tel:+1"
    assert body["recipientAccountUri"] == "ewallet:mary;sp=cashco"
    assert body["fxRate"] == 0.91 and body["chargedAmount"] == {"amount": 101.5, "currency": "USD"}
    assert body["creditedAmount"] == {"amount": 91.0, "currency": "EUR"}
    assert body["settlementDetails"] == {"amount": "101.50", "currency": "USD"}
    assert [h["notificationId"] for h in document["transactionHistories"]] == ["ref-2", "ref-1"]
    assert document["transactionHistories"][1] == {
        "notificationId": "ref-1",
        "status": "PENDING",
        "stage": "Processing",
        "timestamp": "2026-11-26T12:01:00.000+00:00",
    }
    assert all("_" not in key for key in body)  # camelCase throughout


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    header = sign("k", 1_700_000_000, body)
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert (
        header == f"t=1700000000,v1={expected}" and signature("k", 1_700_000_000, body) == expected
    )
    assert verify("k", header, b'{"a":1}', 1_700_000_100)
    assert not verify("k", header, b'{"a":1}', 1_700_000_000 + 301)  # too old: a replay
    assert not verify("k", "v1=abc", b'{"a":1}', 1_700_000_000)
