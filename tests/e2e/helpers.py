"""Shared by the in-process e2e suites: the two wire formats, a small per-format API driver,
the documented error rows, the recipients of each channel, and exact checks of the ``Errors``
envelope (docs/reference.md §5.1, D6-D9).

Expectations here are restated from the documents (docs/decisions.md, docs/reference.md,
README), never read back from the product, so that a test compares the code against the docs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

from starlette.testclient import TestClient

from tests.payloads import PARTNER, decode, encode, path, payment_request

FORMATS = ("json", "xml")
MEDIA = {"json": "application/json", "xml": "application/xml"}
CANCEL_SUCCESS = {"cancelpayment": {"status": "SUCCESS"}}
CANCEL_PAYMENT, GET_PAYMENT = "CancelPayment", "GetPayment"
ERROR_MEMBERS = ["RequestId", "Source", "ReasonCode", "Description", "Recoverable", "Details"]
"""The members of one ``Error``, in the order of the samples (docs/reference.md §5.1)."""

DOCUMENTED_CODES: Mapping[str, tuple[str, str]] = {
    "092000": ("MISSING_REQUIRED_INPUT", "Missing Required Input"),
    "082000": ("INVALID_INPUT_VALUE", "Invalid Input Value"),
    "072000": ("INVALID_INPUT_LENGTH", "Invalid length"),
    "062000": ("INVALID_INPUT_FORMAT", "Value contains invalid character"),
    "110507": ("RESOURCE_UNKNOWN", "Record Not Found"),
    "150001": ("SYSTEM_ERROR", "A system error has occurred"),
    "130101": ("DECLINE", "Invalid recipient currency"),
    "130111": ("DECLINE", "Cancellation not permitted on this transaction"),
    "130118": ("DECLINE", "Sending amount is greater than the maximum allowed per transaction"),
}
"""ErrorDetailCode -> (ReasonCode, Description), as docs/reference.md §5.2 and D6 write them."""


class Row(NamedTuple):
    """One expected ``Error``: ``description`` None means "any non-empty text"."""

    reason_code: str
    code: str
    description: str | None
    source: str


def row(code: str, source: str = "", *, reason_code: str | None = None) -> Row:
    """The documented ``Error`` for ``code``; an undocumented 13xxxx code is a DECLINE."""
    reason, description = DOCUMENTED_CODES.get(code, (reason_code or "DECLINE", None))
    return Row(reason, code, description, source)


NOT_PERMITTED = row("130111", CANCEL_PAYMENT)
"""D6: the payment exists but may not be cancelled."""


def other(fmt: str) -> str:
    """The other wire format."""
    return "xml" if fmt == "json" else "json"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Recipient:
    """A recipient account of one channel (D4) and whether D3 lets its payment be cancelled
    in every pending stage (cash-out, cancellable mobile money) or only InsufficientBalance."""

    uri: str
    any_stage: bool
    extra: Mapping[str, Any] = field(default_factory=dict)

    def request(self, reference: str, **overrides: Any) -> dict[str, Any]:
        """A valid ``paymentrequest`` to this recipient."""
        return payment_request(reference, recipient_uri=self.uri, **{**self.extra, **overrides})


# Every URI ends in 10#### (108989) so that the 06/04 triggers hold on every channel (D15).
RECIPIENTS: Mapping[str, Recipient] = {
    "tel": Recipient("tel:+254108989", any_stage=True),
    "iban": Recipient("iban:GB29NWBK60161331108989", any_stage=False),
    "pan": Recipient(
        "pan:5555555555108989", any_stage=False, extra={"local_date_time": "1126120000"}
    ),
    "cash-out": Recipient(
        "ewallet:cashpickup108989", any_stage=True, extra={"additional": [("7260", "CASH")]}
    ),
}
NON_CANCELLABLE_PROVIDER = Recipient("ewallet:abc;sp=nocancel", any_stage=False)
"""A mobile-money provider on the deployment's non-cancellable list (default ``nocancel``)."""

INSUFFICIENT_BALANCE = "InsufficientBalance"


def d3_permits(recipient: Recipient, status: str, stage: str | None) -> bool:
    """D3 restated: PENDING, and InsufficientBalance or a channel cancellable in any stage."""
    return status == "PENDING" and (stage == INSUFFICIENT_BALANCE or recipient.any_stage)


@dataclass(frozen=True)
class Api:
    """Drives the in-process app in one format (``json`` or ``xml``) for one partner."""

    client: TestClient
    fmt: str
    partner: str = PARTNER

    @property
    def accept(self) -> dict[str, str]:
        return {"Accept": MEDIA[self.fmt]}

    def create(self, request: Mapping[str, Any]) -> Any:
        content, headers = encode({"paymentrequest": dict(request)}, self.fmt)
        return self.client.post(self.url("/payment"), content=content, headers=headers)

    def retrieve(self, payment_id: str) -> Any:
        return self.client.get(self.url(f"/{quote(payment_id, safe='')}"), headers=self.accept)

    def find(self, reference: str) -> Any:
        return self.client.get(self.url(f"?ref={quote(reference, safe='')}"), headers=self.accept)

    def cancel(self, key: str, content: bytes | None = None, method: str = "POST") -> Any:
        headers = dict(self.accept)
        if content is not None:
            headers["Content-Type"] = MEDIA[self.fmt]
        url = self.url(f"/{quote(key, safe='')}/cancel")
        return self.client.request(method, url, content=content, headers=headers)

    def url(self, suffix: str) -> str:
        return path(suffix, partner=self.partner)

    def document(self, response: Any, status: int = 200) -> dict[str, Any]:
        """The decoded answer, after checking its status and that it is in this format."""
        assert response.status_code == status, (response.status_code, response.text)
        content_type = response.headers.get("content-type")
        assert media_type(content_type) == MEDIA[self.fmt], (content_type, response.text)
        return decode(response.content, self.fmt)

    def payment(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Create a payment that must be accepted; its ``payment`` view."""
        view: dict[str, Any] = self.document(self.create(request))["payment"]
        return view

    def found(self, reference: str) -> dict[str, Any]:
        """Retrieve by reference a payment that must exist; its ``payment`` view."""
        view: dict[str, Any] = self.document(self.find(reference))["payment"]
        return view

    def retrieved(self, payment_id: str) -> dict[str, Any]:
        """Retrieve by id a payment that must exist; its ``payment`` view."""
        view: dict[str, Any] = self.document(self.retrieve(payment_id))["payment"]
        return view

    def errors(self, response: Any, status: int, *rows: Row) -> list[dict[str, Any]]:
        """Check an ``Errors`` answer in this format exactly; see :func:`assert_errors`."""
        return assert_errors(response, self.fmt, status, *rows)


def assert_errors(response: Any, fmt: str, status: int, *rows: Row) -> list[dict[str, Any]]:
    """Check status, format and the whole envelope: one ``Error`` object for one row, an array
    for several; members in sample order; ``RequestId`` one numeric string; ``Recoverable``
    ``"false"``; ``Details.Detail`` the ErrorDetailCode; then each row, in order."""
    assert response.status_code == status, (response.status_code, response.text)
    content_type = response.headers.get("content-type")
    assert media_type(content_type) == MEDIA[fmt], (content_type, response.text)
    document = decode(response.content, fmt)
    assert list(document) == ["Errors"], document
    assert list(document["Errors"]) == ["Error"], document
    error = document["Errors"]["Error"]
    if len(rows) == 1:
        assert isinstance(error, dict), document  # one Error is an object...
        errors = [error]
    else:
        assert isinstance(error, list), document  # ...several are an array
        errors = error
    assert len(errors) == len(rows), document
    actual = [_row_of(item) for item in errors]
    expected = [_expected(r, item) for r, item in zip(rows, errors, strict=True)]
    assert actual == expected, f"\n  actual:   {actual}\n  expected: {expected}"
    request_ids = {item["RequestId"] for item in errors}
    assert len(request_ids) == 1 and next(iter(request_ids)).isdigit(), request_ids
    for item in errors:
        assert list(item) == ERROR_MEMBERS, item
        assert item["Recoverable"] == "false", item
        detail = {"Detail": {"Name": "ErrorDetailCode", "Value": item_code(item)}}
        assert item["Details"] == detail, item
    return errors


def item_code(item: Mapping[str, Any]) -> str:
    """The ErrorDetailCode of one ``Error``."""
    code: str = item["Details"]["Detail"]["Value"]
    return code


def _row_of(item: Mapping[str, Any]) -> Row:
    return Row(item["ReasonCode"], item_code(item), item["Description"], item["Source"])


def _expected(expected: Row, item: Mapping[str, Any]) -> Row:
    if expected.description is None and item["Description"]:
        return expected._replace(description=item["Description"])
    return expected


def raw_json(content: bytes) -> Any:
    """JSON parsed with the standard library, numbers as numbers (to see their wire type)."""
    return json.loads(content)
