"""Examples of the OpenAPI description, rendered by the server's own views and codecs.

The cancel examples are those of Mastercard's Cancel Payment page and reference client
(D1, D5); the payment example is the README's walk-through request, answered through
:func:`xborder.api.schemas.payment_view` as a create would answer it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from xborder.api.codecs import JSON, XML
from xborder.api.openapi_schemas import CANCEL_REQUEST
from xborder.api.schemas import CANCEL_SUCCESS, payment_view
from xborder.domain.channels import Channel
from xborder.domain.model import Payment
from xborder.domain.money import Money
from xborder.domain.pricing import Quote
from xborder.domain.request import ROOT, parse_payment_request
from xborder.domain.states import PaymentStatus, PendingStage

Examples = dict[str, dict[str, Any]]

PAYMENT_REQUEST: dict[str, Any] = {
    "transaction_reference": "DEMO-0001",
    "sender_account_uri": "tel:+12125551234",
    "recipient_account_uri": "tel:+254108989",
    "payment_amount": {"amount": "100.00", "currency": "USD"},
    "payment_origination_country": "USA",
    "fx_type": {"forward": {"fees_included": "true", "receiver_currency": "KES"}},
    "payment_type": "P2P",
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
"""The README walk-through's request: a P2P mobile-money payment, created PENDING."""

_CREATED = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def sample_payment() -> Payment:
    """The payment :data:`PAYMENT_REQUEST` creates in the sandbox (figures illustrative)."""
    request = parse_payment_request(PAYMENT_REQUEST)
    return Payment(
        id="rem_S8XcPv5Jjy6n4llKwnrXXBMAr2Y",
        partner_id="MYBANK_SANDBOX1",
        transaction_reference=request.transaction_reference,
        request=request.wire,
        request_fingerprint=request.fingerprint(),
        channel=Channel.MOBILE_MONEY,
        provider=None,
        status=PaymentStatus.PENDING,
        pending_stage=PendingStage.PROCESSING,
        created=_CREATED,
        status_timestamp=_CREATED,
        pending_max_completion_date=_CREATED + timedelta(days=1),
        quote=Quote(
            fx_rate=Decimal("129.25"),
            fees=Money.of("2.00", "USD"),
            charged=Money.of("100.00", "USD"),
            credited=Money.of("12666.50", "KES"),
            principal=Money.of("98.00", "USD"),
            settlement=Money.of("98.00", "USD"),
        ),
    )


def both(name: str, summary: str, document: dict[str, Any]) -> tuple[Examples, Examples]:
    """One example as JSON and as XML (same element names, D10)."""
    return (
        {name: {"summary": summary, "value": JSON.decode(JSON.encode(document))}},
        {name: {"summary": summary, "value": XML.encode(document).decode("utf-8")}},
    )


def payment_request() -> tuple[Examples, Examples]:
    """The create request, JSON and XML."""
    return both("walkthrough", "README walk-through", {ROOT: PAYMENT_REQUEST})


def payment_answer(*, retrieve: bool) -> tuple[Examples, Examples]:
    """A PENDING payment as create (or Retrieve) answers it."""
    document = payment_view(sample_payment(), retrieve=retrieve)
    return both("pending", "PENDING in stage Processing", document)


def cancel_request() -> tuple[Examples, Examples]:
    """The Cancel Payment page's bodies, the reference client's unwrapped one, and D1's."""
    json_examples: Examples = {
        "page": {"summary": "Cancel Payment page", "value": {CANCEL_REQUEST: ""}},
        "reference_client": {
            "summary": "Mastercard's reference client: unwrapped, members null",
            "value": {"TransactionReference": None, "additional_data": None},
        },
        "additional_data": {
            "summary": "With additional data (ignored, D1)",
            "value": {
                CANCEL_REQUEST: {
                    "additional_data": {"data_field": [{"name": "1200", "value": "PHL-BK"}]}
                }
            },
        },
    }
    xml_examples: Examples = {
        "page": {
            "summary": "Cancel Payment page",
            "value": '<?xml version="1.0" encoding="utf-8" ?>\n'
            f"<{CANCEL_REQUEST}>\n</{CANCEL_REQUEST}>\n",
        },
        "reference_client": {
            "summary": "Mastercard's reference client",
            "value": f'<?xml version="1.0" encoding="UTF-8" standalone="no"?><{CANCEL_REQUEST}/>',
        },
    }
    return json_examples, xml_examples


def cancel_answer() -> tuple[Examples, Examples]:
    """The cancel answer of the Cancel Payment page (D5)."""
    return both("success", "Cancelled", CANCEL_SUCCESS)
