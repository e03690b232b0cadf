"""Every error of D6-D12 raises its exception, from the in-process app (JSON and XML), and the
``Errors`` body is read in all its documented shapes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from anyio.from_thread import BlockingPortal

from tests.client.conftest import (
    BASE_URL,
    AppTransport,
    ClientFactory,
    Keys,
    auth_for,
    encryption_for,
    no_sleep,
)
from tests.payloads import PARTNER, payment_request
from xborder.api.dispatch import XborderApp
from xborder.client import (
    ApiError,
    AuthenticationError,
    ConflictError,
    DeclinedError,
    ErrorItem,
    NotFoundError,
    OAuth1Auth,
    PayloadEncryption,
    RetryPolicy,
    ServerError,
    ValidationError,
    WireFormat,
    XborderClient,
)
from xborder.client._errors import error_class, error_items
from xborder.client._wire import decode
from xborder.security.keys import generate_key_pair_and_certificate

FORMATS = ("json", "xml")


class Tamper(httpx.BaseTransport):
    """Changes each request before the app sees it (what a broken client would send)."""

    def __init__(self, inner: httpx.BaseTransport, edit: Callable[[httpx.Request], None]) -> None:
        self.inner, self.edit = inner, edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.edit(request)
        return self.inner.handle_request(request)


def set_body(request: httpx.Request, body: bytes) -> None:
    request._content = body  # the bytes sent; the length follows
    request.stream = httpx.ByteStream(body)
    request.headers["Content-Length"] = str(len(body))


def expect(error: ApiError, status: int, reason: str, code: str | None, source: str) -> None:
    """An empty ``Source`` (``""``, ``<Source></Source>``) is read as ``None``."""
    assert (error.status, error.reason_code, error.error_detail_code, error.source) == (
        status,
        reason,
        code,
        source or None,
    )
    assert error.description
    assert error.body


# --- D6: cancel and retrieve --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_d6_unknown_payment(make_client: ClientFactory, fmt: str) -> None:
    client = make_client(fmt)
    with pytest.raises(NotFoundError) as cancel:
        client.cancel_payment("rem_doesnotexist")
    expect(cancel.value, 404, "RESOURCE_UNKNOWN", "110507", "CancelPayment")
    assert cancel.value.request_id and cancel.value.request_id.isdigit()
    with pytest.raises(NotFoundError) as get:
        client.get_payment("rem_doesnotexist")
    expect(get.value, 404, "RESOURCE_UNKNOWN", "110507", "GetPayment")
    with pytest.raises(NotFoundError):
        client.find_payment("NO-SUCH-REFERENCE")


@pytest.mark.parametrize("fmt", FORMATS)
def test_d6_not_cancellable(make_client: ClientFactory, fmt: str) -> None:
    client = make_client(fmt)
    client.create_payment(payment_request(f"09DONE-{fmt}"))  # 09: SUCCESS at once
    with pytest.raises(DeclinedError) as declined:
        client.cancel_payment(f"09DONE-{fmt}")
    expect(declined.value, 402, "DECLINE", "130111", "CancelPayment")


def test_d6_system_error_is_retried_then_raised(
    make_client: ClientFactory, transport: AppTransport
) -> None:
    client = make_client("json")
    with pytest.raises(ServerError) as failed:
        client.create_payment(payment_request("2SYSTEM150001"))
    expect(failed.value, 500, "SYSTEM_ERROR", "150001", "")
    assert len(transport.requests) == 3  # the attempts of the retry policy, same bytes
    assert len({r.content for r in transport.requests}) == 1


# --- D7: creation -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_d7_reference_reused_with_another_payload(make_client: ClientFactory, fmt: str) -> None:
    client = make_client(fmt)
    first = client.create_payment(payment_request(f"DUP-{fmt}"))
    assert client.create_payment(payment_request(f"DUP-{fmt}")).id == first.id  # a replay
    with pytest.raises(ConflictError) as conflict:
        client.create_payment(payment_request(f"DUP-{fmt}", purpose_of_payment="Education"))
    expect(conflict.value, 409, "INVALID_INPUT_VALUE", "082000", "transaction_reference")


@pytest.mark.parametrize("fmt", FORMATS)
def test_d7_refused_at_submission(make_client: ClientFactory, fmt: str) -> None:
    with pytest.raises(DeclinedError) as declined:
        make_client(fmt).create_payment(payment_request(f"2REFUSED{fmt}130118"))
    expect(declined.value, 402, "DECLINE", "130118", "")


# --- D8: validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_d8_one_error_per_problem(make_client: ClientFactory, fmt: str) -> None:
    request = payment_request(f"BAD-{fmt}", payment_type="XYZ")
    del request["sender_account_uri"]
    with pytest.raises(ValidationError) as invalid:
        make_client(fmt).create_payment(request)
    assert invalid.value.status == 400 and len(invalid.value.errors) >= 2
    found = {(e.reason_code, e.error_detail_code, e.source) for e in invalid.value.errors}
    assert ("MISSING_REQUIRED_INPUT", "092000", "sender_account_uri") in found
    assert ("INVALID_INPUT_VALUE", "082000", "payment_type") in found


def test_d8_malformed_partner_id(make_client: ClientFactory) -> None:
    with pytest.raises(ValidationError) as invalid:
        make_client(partner_id="NOT A PARTNER").get_payment("rem_x")
    expect(invalid.value, 400, "INVALID_INPUT_VALUE", "082000", "partner-id")


# --- D9: formats and headers --------------------------------------------------------------------


def tampered(
    transport: AppTransport, edit: Callable[[httpx.Request], None], fmt: str
) -> XborderClient:
    return XborderClient(
        BASE_URL,
        PARTNER,
        transport=Tamper(transport, edit),
        wire_format=fmt,  # type: ignore[arg-type]
        sleep=no_sleep,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_d9_unsupported_content_type(transport: AppTransport, fmt: str) -> None:
    def edit(request: httpx.Request) -> None:
        request.headers["Content-Type"] = "text/plain"

    with pytest.raises(ValidationError) as refused:
        tampered(transport, edit, fmt).create_payment(payment_request("D9-415"))
    expect(refused.value, 415, "INVALID_INPUT_FORMAT", "062000", "Content-Type")


def test_d9_not_acceptable_is_answered_in_json(transport: AppTransport) -> None:
    def edit(request: httpx.Request) -> None:
        request.headers["Accept"] = "text/html"

    with pytest.raises(ValidationError) as refused:
        tampered(transport, edit, "xml").get_payment("rem_x")  # an XML client reads JSON
    expect(refused.value, 406, "INVALID_INPUT_FORMAT", "062000", "Accept")


@pytest.mark.parametrize("fmt", FORMATS)
def test_d9_malformed_body(transport: AppTransport, fmt: str) -> None:
    with pytest.raises(ValidationError) as refused:
        tampered(transport, lambda r: set_body(r, b"{<"), fmt).create_payment({})
    expect(refused.value, 400, "INVALID_INPUT_FORMAT", "062000", "body")


def test_d9_body_too_large(make_client: ClientFactory) -> None:
    request = payment_request("D9-413", additional=[("9999", "x" * 1000)] * 1100)
    with pytest.raises(ValidationError) as refused:
        make_client().create_payment(request)
    expect(refused.value, 413, "INVALID_INPUT_LENGTH", "072000", "body")


# --- D10: output conventions, as typed results --------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_d10_conventions(make_client: ClientFactory, fmt: str) -> None:
    payment = make_client(fmt).create_payment(payment_request(f"D10-{fmt}"))
    assert payment.status_timestamp is not None and payment.status_timestamp.tzinfo is not None
    assert payment.pending_max_completion_date is not None
    assert str(payment.settlement_details) == "100.00 USD"
    assert payment.cashout_code is None and payment.proposal_id is None  # absent, not empty
    assert "cashout_code" not in payment.document


# --- D11: gateway authentication (authentication on) ----------------------------------------------


@pytest.fixture
def guarded(signed_only_app: XborderApp, portal: BlockingPortal) -> AppTransport:
    return AppTransport(signed_only_app, portal)


def gateway_client(transport: httpx.BaseTransport, auth: OAuth1Auth | None) -> XborderClient:
    return XborderClient(BASE_URL, PARTNER, auth=auth, transport=transport, sleep=no_sleep)


def expect_gateway(error: ApiError, status: int, reason: str) -> None:
    assert isinstance(error, AuthenticationError)
    assert (error.status, error.reason_code, error.source) == (status, reason, "Gateway")
    assert error.error_detail_code is None and error.request_id is None


def test_d11_unsigned(guarded: AppTransport) -> None:
    with pytest.raises(AuthenticationError) as refused:
        gateway_client(guarded, None).find_payment("X")
    expect_gateway(refused.value, 400, "INVALID_AUTH_HEADER")


def test_d11_unknown_consumer_key(guarded: AppTransport, keys: Keys) -> None:
    auth = OAuth1Auth.from_file("nobody!123", keys.signing_key)
    with pytest.raises(AuthenticationError) as refused:
        gateway_client(guarded, auth).find_payment("X")
    expect_gateway(refused.value, 401, "DECLINED")


def test_d11_wrong_signing_key(guarded: AppTransport, keys: Keys) -> None:
    stranger, _ = generate_key_pair_and_certificate("stranger", 1)
    auth = OAuth1Auth(auth_for(keys).consumer_key, stranger)
    with pytest.raises(AuthenticationError) as refused:
        gateway_client(guarded, auth).find_payment("X")
    expect_gateway(refused.value, 403, "AUTHENTICATION_FAILED")


def test_d11_signed_requests_pass(guarded: AppTransport, keys: Keys) -> None:
    client = gateway_client(guarded, auth_for(keys))
    assert client.create_payment(payment_request("D11-OK")).status == "PENDING"


# --- D12: payload encryption --------------------------------------------------------------------


class UndecryptablePayloads(PayloadEncryption):
    """Sends a wrapper whose JWE is garbage (signed as sent, so only decryption fails)."""

    def encrypt(self, body: bytes, fmt: WireFormat) -> bytes:
        return b'{"encrypted_payload":{"data":"not.a.jwe.at.all"}}'


def test_d12_payload_that_does_not_decrypt(transport: AppTransport, keys: Keys) -> None:
    client = XborderClient(
        BASE_URL,
        PARTNER,
        auth=auth_for(keys),
        encryption=UndecryptablePayloads(keys.server_cert, keys.client_key),
        transport=transport,
        sleep=no_sleep,
    )
    with pytest.raises(ValidationError) as refused:
        client.create_payment(payment_request("D12-BAD"))
    expect(refused.value, 400, "INVALID_INPUT_FORMAT", "062000", "Encrypted Payload")
    assert refused.value.request_id is None


def test_d12_encryption_without_a_project(make_client: ClientFactory, keys: Keys) -> None:
    client = make_client("json", encryption=encryption_for(keys))  # unsigned: no project
    with pytest.raises(ValidationError) as refused:
        client.create_payment(payment_request("D12-UNSIGNED"))
    assert refused.value.source == "Encrypted Payload"


# --- the Errors body and the one table ----------------------------------------------------------

ONE_JSON = (
    b'{"Errors":{"Error":{"RequestId":"13559438","Source":"proposal_id",'
    b'"ReasonCode":"INVALID_INPUT_VALUE","Description":"Invalid Input Value",'
    b'"Recoverable":"false","Details":{"Detail":{"Name":"ErrorDetailCode","Value":"082000"}}}}}'
)
LIST_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Errors>'
    b"<Error><RequestId>7622332</RequestId><Source></Source><ReasonCode>DECLINE </ReasonCode>"
    b"<Description>Sending amount is greater than the maximum allowed per transaction"
    b"</Description><Recoverable>false</Recoverable><Details><Detail><Name>ErrorDetailCode"
    b"</Name><Value>130118</Value></Detail></Details></Error>"
    b"<Error><Source>x</Source><ReasonCode>DECLINE</ReasonCode><Details><Detail><Name>Other"
    b"</Name><Value>1</Value></Detail><Detail><Name>ErrorDetailCode</Name><Value>130101"
    b"</Value></Detail></Details></Error></Errors>"
)


def test_errors_bodies_in_every_documented_shape() -> None:
    assert error_items(decode(ONE_JSON, "json")) == [
        ErrorItem(
            "INVALID_INPUT_VALUE", "082000", "proposal_id", "Invalid Input Value", "13559438", False
        )
    ]
    two = error_items(decode(LIST_XML, "xml"))
    assert [(e.reason_code, e.error_detail_code, e.source) for e in two] == [
        ("DECLINE", "130118", None),
        ("DECLINE", "130101", "x"),
    ]
    gateway = {
        "Errors": {
            "Error": [
                {
                    "Source": "Gateway",
                    "ReasonCode": "DECLINED",
                    "Recoverable": False,
                    "Details": None,
                }
            ]
        }
    }
    assert error_items(gateway)[0] == ErrorItem("DECLINED", None, "Gateway", None, None, False)
    assert error_items({"nothing": 1}) == [] and error_items(None) == []


@pytest.mark.parametrize(
    ("status", "reason", "source", "expected"),
    [
        (400, "MISSING_REQUIRED_INPUT", "sender_account_uri", ValidationError),
        (400, "INVALID_INPUT_FORMAT", "Encrypted Payload", ValidationError),
        (413, "INVALID_INPUT_LENGTH", "body", ValidationError),
        (415, "INVALID_INPUT_FORMAT", "Content-Type", ValidationError),
        (400, "INVALID_AUTH_HEADER", "Gateway", AuthenticationError),
        (401, "DECLINED", "Gateway", AuthenticationError),
        (403, "AUTHENTICATION_FAILED", "Gateway", AuthenticationError),
        (402, "DECLINE", "CancelPayment", DeclinedError),
        (400, "DECLINE", "transaction_reference", DeclinedError),
        (404, "RESOURCE_UNKNOWN", "GetPayment", NotFoundError),
        (409, "INVALID_INPUT_VALUE", "transaction_reference", ConflictError),
        (500, "SYSTEM_ERROR", "", ServerError),
        (502, None, None, ServerError),
        (404, None, None, NotFoundError),
        (302, None, None, ApiError),
    ],
)
def test_one_table_decides_the_class(
    status: int, reason: str | None, source: str | None, expected: type[ApiError]
) -> None:
    assert error_class(status, reason, source) is expected


def test_an_error_without_an_errors_body(make_client: ClientFactory) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            502, text="<html>Bad gateway</html>", headers={"Content-Type": "text/html"}
        )

    client = XborderClient(
        BASE_URL, PARTNER, transport=httpx.MockTransport(answer), retry=RetryPolicy(attempts=1)
    )
    with pytest.raises(ServerError) as failed:
        client.get_payment("rem_x")
    assert failed.value.status == 502 and failed.value.errors == ()
    assert str(failed.value) == "502"
