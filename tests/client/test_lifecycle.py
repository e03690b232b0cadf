"""The client against the in-process app: create -> retrieve (id, reference) -> cancel (id,
reference) -> retrieve CANCELLED, in JSON and XML, plain, signed (OAuth 1.0a through the real
gate) and signed and encrypted (JWE both ways); the async client the same way."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal

import pytest

from tests.client.conftest import ClientFactory, Keys, async_client
from tests.payloads import payment_request
from xborder.api.dispatch import XborderApp
from xborder.client import Cancellation, DeclinedError, Payment

FORMATS = ("json", "xml")


def assert_pending(payment: Payment, reference: str) -> None:
    assert payment.transaction_reference == reference
    assert payment.status == "PENDING" and payment.pending_stage == "Processing"
    assert payment.id.startswith("rem_") and len(payment.id) == 31
    assert payment.created is not None and payment.created.utcoffset() == UTC.utcoffset(None)
    assert payment.payment_amount is not None
    assert payment.payment_amount.amount == Decimal("100.00")
    assert payment.payment_amount.currency == "USD"
    assert isinstance(payment.fx_rate, Decimal)


CASES = [
    ("json", "plain", "id"),
    ("xml", "plain", "reference"),
    ("json", "signed", "reference"),
    ("xml", "signed", "id"),
    ("json", "encrypted", "id"),
    ("xml", "encrypted", "reference"),
]
"""Each format with each mode, and each cancel key with each format and each signed mode."""


@pytest.mark.parametrize(("fmt", "mode", "by"), CASES)
def test_create_retrieve_cancel(make_client: ClientFactory, fmt: str, mode: str, by: str) -> None:
    client = make_client(fmt, mode)
    reference = f"LIFE-{fmt}-{mode}-{by}"
    created = client.create_payment(payment_request(reference))
    assert_pending(created, reference)
    assert client.get_payment(created.id) == client.find_payment(reference)

    key = created.id if by == "id" else reference
    cancellation = client.cancel_payment(key)
    assert cancellation == Cancellation(key, "SUCCESS", attempts=1)
    assert b"cancelpayment" in cancellation.raw

    for retrieved in (client.get_payment(created.id), client.find_payment(reference)):
        assert retrieved.status == "CANCELLED"
        assert retrieved.pending_stage is None and retrieved.pending_max_completion_date is None
    with pytest.raises(DeclinedError) as refused:
        client.cancel_payment(key)
    assert (refused.value.status, refused.value.error_detail_code) == (402, "130111")


@pytest.mark.parametrize("fmt", FORMATS)
def test_raw_is_the_plaintext_answer_in_the_wire_format(
    make_client: ClientFactory, fmt: str
) -> None:
    payment = make_client(fmt, "encrypted").create_payment(payment_request(f"RAW-{fmt}"))
    assert payment.raw.lstrip().startswith(b"<?xml" if fmt == "xml" else b'{"payment"')
    assert payment.document["transaction_reference"] == f"RAW-{fmt}"


def test_reference_with_reserved_characters(make_client: ClientFactory) -> None:
    client = make_client("json", "signed")
    reference = "A/B?C#D &E%F"
    created = client.create_payment(payment_request(reference))
    assert client.find_payment(reference).id == created.id
    assert client.cancel_payment(reference).status == "SUCCESS"


def test_rejected_payment_is_retrieved_with_its_reason(make_client: ClientFactory) -> None:
    client = make_client()
    with pytest.raises(DeclinedError) as declined:
        client.create_payment(payment_request("04REJECT-1"))
    assert declined.value.error_detail_code == "130101"
    payment = client.find_payment("04REJECT-1")
    assert payment.status == "REJECTED"
    assert payment.rejected_status is not None and payment.rejected_status.code == "130101"


@pytest.mark.anyio
@pytest.mark.parametrize(("fmt", "mode"), [("json", "plain"), ("xml", "encrypted")])
async def test_async_client(app: XborderApp, keys: Keys, fmt: str, mode: str) -> None:
    async with async_client(app, keys, fmt, mode) as client:
        created = await client.create_payment(payment_request(f"ASYNC-{fmt}"))
        assert_pending(created, f"ASYNC-{fmt}")
        assert (await client.find_payment(f"ASYNC-{fmt}")).id == created.id
        assert (await client.get_payment(created.id)).status == "PENDING"
        assert (await client.cancel_payment(created.id)).status == "SUCCESS"
        assert (await client.get_payment(created.id)).status == "CANCELLED"
