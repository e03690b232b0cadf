"""Every error row of D6, D8 and D9, and D7's replay, conflict and refusal rows, each in JSON
and in XML, through the in-process app: HTTP status, ReasonCode, ErrorDetailCode,
Description, Source and the exact envelope. Also unknown paths and wrong methods (in the
envelope), and D10's output conventions on a created payment.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.helpers import (
    CANCEL_PAYMENT,
    CANCEL_SUCCESS,
    FORMATS,
    GET_PAYMENT,
    MEDIA,
    NON_CANCELLABLE_PROVIDER,
    NOT_PERMITTED,
    RECIPIENTS,
    Api,
    Row,
    assert_errors,
    other,
    raw_json,
    row,
)
from tests.payloads import decode, encode, path, payment_request

MIB = 1024 * 1024
NOT_FOUND_CANCEL, NOT_FOUND_GET = row("110507", CANCEL_PAYMENT), row("110507", GET_PAYMENT)
BAD_BODY = row("062000", "body")


@pytest.fixture(params=FORMATS)
def api(request: pytest.FixtureRequest, client: TestClient) -> Api:
    """The API driven in JSON, then in XML."""
    return Api(client, request.param)


# --- D6: cancel (and retrieve) errors ----------------------------------------------------------


def test_cancel_of_an_unknown_payment(api: Api) -> None:
    api.errors(api.cancel("rem_AAAAAAAAAAAAAAAAAAAAAAAAAAA"), 404, NOT_FOUND_CANCEL)
    api.errors(api.cancel("NO-SUCH-REFERENCE"), 404, NOT_FOUND_CANCEL)


def test_retrieve_of_an_unknown_payment(api: Api) -> None:
    api.errors(api.retrieve("rem_AAAAAAAAAAAAAAAAAAAAAAAAAAA"), 404, NOT_FOUND_GET)
    api.errors(api.find("NO-SUCH-REFERENCE"), 404, NOT_FOUND_GET)


def test_another_partners_payment_is_never_revealed(api: Api) -> None:
    payment = api.payment(payment_request("OWNED-1"))
    stranger = dataclasses.replace(api, partner="OTHER_PARTNER")
    for key in (payment["id"], "OWNED-1"):
        stranger.errors(stranger.cancel(key), 404, NOT_FOUND_CANCEL)
    stranger.errors(stranger.retrieve(payment["id"]), 404, NOT_FOUND_GET)
    stranger.errors(stranger.find("OWNED-1"), 404, NOT_FOUND_GET)
    assert api.retrieved(payment["id"])["status"] == "PENDING"


Setup = Callable[[Api], dict[str, Any]]
"""Brings a payment into some state; returns its Retrieve view."""


def _created(request: dict[str, Any]) -> Setup:
    def setup(api: Api) -> dict[str, Any]:
        api.payment(request)
        return api.found(request["transaction_reference"])

    return setup


def _refused(request: dict[str, Any]) -> Setup:
    def setup(api: Api) -> dict[str, Any]:
        assert api.create(request).status_code == 402
        return api.found(request["transaction_reference"])

    return setup


def _cancelled(api: Api) -> dict[str, Any]:
    payment = api.payment(payment_request("CANCELLED-1"))
    assert api.document(api.cancel(payment["id"])) == CANCEL_SUCCESS
    return api.found("CANCELLED-1")


NOT_CANCELLABLE: dict[str, tuple[Setup, str, str | None]] = {
    "SUCCESS": (_created(payment_request("0912345678")), "SUCCESS", None),
    "REJECTED": (_refused(payment_request("212345130118")), "REJECTED", None),
    "RETURNED": (_created(payment_request("81234567RR130101")), "RETURNED", None),
    "CANCELLED": (_cancelled, "CANCELLED", None),
    "bank-account-Processing": (
        _created(RECIPIENTS["iban"].request("BANK-1")),
        "PENDING",
        "Processing",
    ),
    "card-Processing": (_created(RECIPIENTS["pan"].request("CARD-1")), "PENDING", "Processing"),
    "nocancel-mobile-money-Processing": (
        _created(NON_CANCELLABLE_PROVIDER.request("MOBILE-1")),
        "PENDING",
        "Processing",
    ),
}


@pytest.mark.parametrize("by", ["id", "reference"])
@pytest.mark.parametrize("case", list(NOT_CANCELLABLE))
def test_cancel_not_permitted(api: Api, case: str, by: str) -> None:
    setup, status, stage = NOT_CANCELLABLE[case]
    before = setup(api)
    assert (before["status"], before.get("pending_stage")) == (status, stage)
    key = before["id"] if by == "id" else before["transaction_reference"]
    api.errors(api.cancel(key), 402, NOT_PERMITTED)
    api.errors(api.cancel(key, method="GET"), 402, NOT_PERMITTED)
    assert api.retrieved(before["id"]) == before


def test_unexpected_failure_is_a_system_error(api: Api, engine: Engine) -> None:
    payment = api.payment(payment_request("SYSTEM-1"))
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE payments RENAME TO payments_unreachable"))
    system_error = row("150001", "")
    try:
        api.errors(api.cancel(payment["id"]), 500, system_error)
        api.errors(api.retrieve(payment["id"]), 500, system_error)
        api.errors(api.find("SYSTEM-1"), 500, system_error)
    finally:  # the PostgreSQL database is shared by the tests that follow
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE payments_unreachable RENAME TO payments"))


def test_of_concurrent_cancels_exactly_one_succeeds(api: Api) -> None:
    payment = api.payment(payment_request("RACE-1"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: api.cancel(payment["id"]), range(8)))
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1
    assert api.document(winners[0]) == CANCEL_SUCCESS
    for response in responses:
        if response is not winners[0]:
            api.errors(response, 402, NOT_PERMITTED)


# --- D1: the accepted cancel bodies --------------------------------------------------------------

_DATA_FIELD_XML = b"<data_field><name>1200</name><value>PHL-BK</value></data_field>"
CANCEL_BODIES = [
    pytest.param("json", None, id="json-none"),
    pytest.param("json", b'{"cancelpaymentrequest": ""}', id="json-empty-string"),
    pytest.param("json", b'{"cancelpaymentrequest": {}}', id="json-empty-object"),
    pytest.param(
        "json",
        b'{"cancelpaymentrequest": {"additional_data": '
        b'{"data_field": [{"name": "1200", "value": "PHL-BK"}]}}}',
        id="json-additional-data",
    ),
    pytest.param(
        "json",
        b'{"cancelpaymentrequest": {"reason": "asked", "flags": [1, true, null], '
        b'"additional_data": {"data_field": {"name": "1200", "value": "PHL-BK"}}}, "extra": 1}',
        id="json-unknown-members",
    ),
    pytest.param("xml", None, id="xml-none"),
    pytest.param("xml", b"<cancelpaymentrequest/>", id="xml-empty-element"),
    pytest.param(
        "xml",
        b'<?xml version="1.0" encoding="utf-8" ?>\n'
        b"<cancelpaymentrequest>\n</cancelpaymentrequest>\n",
        id="xml-documented-sample",
    ),
    pytest.param(
        "xml", b'<?xml version="1.0"?><cancelpaymentrequest/>', id="xml-declaration-no-space"
    ),
    pytest.param(
        "xml",
        b"\n  <cancelpaymentrequest>\n\t \r\n  </cancelpaymentrequest>\n  ",
        id="xml-whitespace-no-declaration",
    ),
    pytest.param(
        "xml",
        b"<cancelpaymentrequest><additional_data>"
        + _DATA_FIELD_XML
        + b"</additional_data></cancelpaymentrequest>",
        id="xml-additional-data",
    ),
    pytest.param(
        "xml",
        b"<cancelpaymentrequest><reason>asked</reason><flags><a/><a>1</a></flags>"
        b"</cancelpaymentrequest>",
        id="xml-unknown-members",
    ),
]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(("fmt", "body"), CANCEL_BODIES)
def test_accepted_cancel_bodies(
    client: TestClient, fmt: str, body: bytes | None, method: str
) -> None:
    api = Api(client, fmt)
    payment = api.payment(payment_request("BODY-1"))
    assert api.document(api.cancel(payment["id"], body, method)) == CANCEL_SUCCESS
    assert api.retrieved(payment["id"])["status"] == "CANCELLED"


# --- D7: references, replays and refusals at submission -----------------------------------------


def test_same_reference_and_payload_replays_the_payment(api: Api) -> None:
    request = payment_request("RETRY-1")
    first = api.document(api.create(request))
    assert api.document(api.create(request)) == first
    assert api.found("RETRY-1")["id"] == first["payment"]["id"]


def _equivalent(request: dict[str, Any]) -> dict[str, Any]:
    """The same payload written differently: members reversed, padded text, amount unscaled."""
    same = dict(reversed(list(request.items())))
    same["payment_amount"] = {"currency": "USD", "amount": "100"}
    same["sender"] = {**request["sender"], "first_name": "  John  "}
    return same


def test_a_retry_in_the_other_format_replays_the_payment(api: Api) -> None:
    request = payment_request("RETRY-2")
    first = api.payment(request)
    again = Api(api.client, other(api.fmt)).payment(_equivalent(request))
    assert (again["id"], again["status"], again["created"]) == (
        first["id"],
        first["status"],
        first["created"],
    )


def test_same_reference_with_another_payload_conflicts(api: Api) -> None:
    first = api.payment(payment_request("RETRY-3"))
    changed = payment_request("RETRY-3", sender_account_uri="tel:+12125559999")
    api.errors(api.create(changed), 409, row("082000", "transaction_reference"))
    stored = api.retrieved(first["id"])
    assert (stored["status"], stored["sender_account_uri"]) == ("PENDING", "tel:+12125551234")


def test_a_payment_refused_at_submission_is_stored_rejected(api: Api) -> None:
    reference = "212345130118"
    refused = row("130118", "")
    api.errors(api.create(payment_request(reference)), 402, refused)
    stored = api.found(reference)
    assert stored == {
        "transaction_reference": reference,
        "status": "REJECTED",
        "id": stored["id"],
        "resource_type": "payment",
        "rejected_status": {
            "Code": "130118",
            "Message": "DECLINE:Sending amount is greater than the maximum allowed per transaction",
        },
    }
    assert api.retrieved(stored["id"]) == stored
    api.errors(api.create(payment_request(reference)), 402, refused)


# --- D8: field problems and the partner id -------------------------------------------------------


def _edit(
    dotted: str, value: Any = None, *, delete: bool = False
) -> Callable[[dict[str, Any]], None]:
    """A change to a request at a dotted path: set ``value``, or delete the member."""
    *parents, leaf = dotted.split(".")

    def change(request: dict[str, Any]) -> None:
        node = request
        for name in parents:
            node = node[name]
        if delete:
            del node[leaf]
        else:
            node[leaf] = value

    return change


FIELD_PROBLEMS = [
    pytest.param(
        _edit("sender.address.country", delete=True),
        row("092000", "sender.address.country"),
        id="missing-required",
    ),
    pytest.param(
        _edit("sender.address.city", "C" * 36), row("072000", "sender.address.city"), id="length"
    ),
    pytest.param(_edit("payment_type", "XYZ"), row("082000", "payment_type"), id="enum-value"),
    pytest.param(
        _edit("purpose_of_payment", "Holiday"), row("082000", "purpose_of_payment"), id="enum-list"
    ),
    pytest.param(
        _edit("sender.first_name", "Jo{hn"), row("062000", "sender.first_name"), id="characters"
    ),
    pytest.param(
        _edit("sender.date_of_birth", "26/11/1980"),
        row("062000", "sender.date_of_birth"),
        id="format",
    ),
    pytest.param(
        _edit("sender.organization_name", "ACME Ltd"),
        row("082000", "sender.organization_name"),
        id="name-rule-P2P-sender-is-a-person",
    ),
    pytest.param(
        _edit("recipient_account_uri", RECIPIENTS["pan"].uri),
        row("092000", "local_date_time"),
        id="conditional-local_date_time-for-pan",
    ),
]


@pytest.mark.parametrize(("change", "expected"), FIELD_PROBLEMS)
def test_one_field_problem(
    api: Api, change: Callable[[dict[str, Any]], None], expected: Row
) -> None:
    request = payment_request("FIELD-1")
    change(request)
    api.errors(api.create(request), 400, expected)
    api.errors(api.find("FIELD-1"), 404, NOT_FOUND_GET)


def test_several_problems_make_an_error_array_in_field_order(api: Api) -> None:
    request = payment_request("FIELDS-1")
    for change in (
        _edit("sender.address.city", "C" * 36),
        _edit("payment_type", delete=True),
        _edit("sender.first_name", "Jo|hn"),
    ):
        change(request)
    api.errors(
        api.create(request),
        400,
        row("092000", "payment_type"),
        row("062000", "sender.first_name"),
        row("072000", "sender.address.city"),
    )


@pytest.mark.parametrize("character", ["\ufffe", "\uffff", "\ud800"], ids=["FFFE", "FFFF", "D800"])
def test_text_that_xml_cannot_carry_is_refused(api: Api, character: str) -> None:
    """D8 (allowed characters) with D10 (JSON and XML carry the same information): a value
    that no XML answer could hold, or that is not Unicode text at all, is a FORMAT problem."""
    request = payment_request("CHARS-1", receiving_bank_name=f"Bank{character}")
    content = json.dumps({"paymentrequest": request}).encode("ascii")  # escapes carry it
    headers = {"Content-Type": MEDIA["json"], **api.accept}
    response = api.client.post(api.url("/payment"), content=content, headers=headers)
    api.errors(response, 400, row("062000", "receiving_bank_name"))


MALFORMED_PARTNER_IDS = [
    pytest.param("P" * 36, id="36-characters"),
    pytest.param("BANK%20ONE", id="space"),
    pytest.param("BANK%7BONE", id="brace"),
]


@pytest.mark.parametrize("partner", MALFORMED_PARTNER_IDS)
def test_malformed_partner_id(api: Api, partner: str) -> None:
    bad = dataclasses.replace(api, partner=partner)
    expected = row("082000", "partner-id")
    bad.errors(bad.create(payment_request("PARTNER-1")), 400, expected)
    bad.errors(bad.find("PARTNER-1"), 400, expected)
    bad.errors(bad.cancel("PARTNER-1"), 400, expected)


def test_partner_id_of_35_characters_is_well_formed(api: Api) -> None:
    good = dataclasses.replace(api, partner="P" * 35)
    assert good.payment(payment_request("PARTNER-2"))["status"] == "PENDING"


# --- D9: formats and headers ---------------------------------------------------------------------


def _create_body(fmt: str, reference: str) -> bytes:
    return encode({"paymentrequest": payment_request(reference)}, fmt)[0]


def test_body_without_content_type(api: Api) -> None:
    content = _create_body(api.fmt, "CT-1")
    response = api.client.post(api.url("/payment"), content=content, headers=api.accept)
    api.errors(response, 415, row("062000", "Content-Type"))
    payment = api.payment(payment_request("CT-2"))
    cancel = encode({"cancelpaymentrequest": ""}, api.fmt)[0]
    response = api.client.post(api.url("/CT-2/cancel"), content=cancel, headers=api.accept)
    api.errors(response, 415, row("062000", "Content-Type"))
    assert api.retrieved(payment["id"])["status"] == "PENDING"


@pytest.mark.parametrize("content_type", ["text/plain", "text/html; charset=utf-8", "image/png"])
def test_body_with_unsupported_content_type(api: Api, content_type: str) -> None:
    headers = {"Content-Type": content_type, **api.accept}
    content = _create_body(api.fmt, "CT-3")
    response = api.client.post(api.url("/payment"), content=content, headers=headers)
    api.errors(response, 415, row("062000", "Content-Type"))


def test_accept_naming_neither_json_nor_xml_is_answered_in_json(api: Api) -> None:
    content, headers = encode({"paymentrequest": payment_request("ACCEPT-1")}, api.fmt)
    headers["Accept"] = "text/html"
    response = api.client.post(api.url("/payment"), content=content, headers=headers)
    assert_errors(response, "json", 406, row("062000", "Accept"))
    api.errors(api.find("ACCEPT-1"), 404, NOT_FOUND_GET)


def _send(client: TestClient, method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
    """Send with exactly these headers: httpx's default ``Accept: */*`` is removed unless given."""
    request = client.build_request(method, url, headers=headers, **kw)
    if "Accept" not in headers:
        del request.headers["Accept"]
    return client.send(request)


@pytest.mark.parametrize("accept", [None, "*/*"], ids=["absent", "any"])
def test_answer_follows_content_type(api: Api, accept: str | None) -> None:
    headers = {"Content-Type": MEDIA[api.fmt]} | ({"Accept": accept} if accept else {})
    content = _create_body(api.fmt, "FOLLOW-1")
    response = _send(api.client, "POST", api.url("/payment"), headers, content=content)
    assert api.document(response)["payment"]["transaction_reference"] == "FOLLOW-1"
    response = _send(api.client, "POST", api.url("/payment"), headers, content=b"{]")
    api.errors(response, 400, BAD_BODY)


def test_without_accept_and_content_type_the_answer_is_json(client: TestClient) -> None:
    payment = Api(client, "xml").payment(payment_request("NEITHER-1"))
    response = _send(client, "GET", path(f"/{payment['id']}"), {})
    assert Api(client, "json").document(response)["payment"]["id"] == payment["id"]
    assert_errors(_send(client, "GET", path("?ref=NOPE"), {}), "json", 404, NOT_FOUND_GET)


MEDIA_TYPES = [
    pytest.param("text/xml", "text/xml", "xml", id="text-xml"),
    pytest.param("text/xml; charset=utf-8", None, "xml", id="text-xml-charset-no-accept"),
    pytest.param("application/xml; charset=UTF-8", "application/xml; charset=utf-8", "xml"),
    pytest.param("application/json; charset=utf-8", "application/json; charset=utf-8", "json"),
    pytest.param("application/json; charset=utf-8", None, "json", id="json-charset-no-accept"),
]


@pytest.mark.parametrize(("content_type", "accept", "fmt"), MEDIA_TYPES)
def test_media_types_with_parameters_are_understood(
    client: TestClient, content_type: str, accept: str | None, fmt: str
) -> None:
    headers = {"Content-Type": content_type} | ({"Accept": accept} if accept else {})
    content = _create_body(fmt, "MEDIA-1")
    response = _send(client, "POST", path("/payment"), headers, content=content)
    assert Api(client, fmt).document(response)["payment"]["status"] == "PENDING"


_ENTITIES = '<!DOCTYPE ROOT [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><ROOT>&b;</ROOT>'
_EXTERNAL = '<!DOCTYPE ROOT [<!ENTITY x SYSTEM "file:///etc/hostname">]><ROOT>&x;</ROOT>'
_UNREADABLE = {
    "json-malformed": ("application/json", '{"ROOT": {'),
    "json-not-an-object": ("application/json", '["ROOT"]'),
    "json-nan": ("application/json", '{"ROOT": NaN}'),
    "xml-malformed": ("application/xml", "<ROOT><sender></ROOT>"),
    "xml-wrong-root": ("application/xml", "<wrongroot/>"),
    "xml-dtd": ("application/xml", "<!DOCTYPE ROOT><ROOT/>"),
    "xml-entity-declarations": ("application/xml", _ENTITIES),
    "xml-external-entity": ("application/xml", _EXTERNAL),
}
BAD_BODIES = [
    *(
        pytest.param(target, *body, id=f"{target}-{name}")
        for target in ("create", "cancel")
        for name, body in _UNREADABLE.items()
    ),
    # A JSON cancel body is an optional object whose unknown members are ignored (D1), so
    # only the create endpoint can show a JSON root that is not the expected one.
    pytest.param("create", "application/json", '{"wrongroot": {}}', id="create-json-wrong-root"),
]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """An endpoint that takes a body; the cancel one targets a real PENDING payment."""

    url: str
    root: str
    payment_id: str | None = None

    @classmethod
    def of(cls, api: Api, target: str) -> Endpoint:
        if target == "create":
            return cls(api.url("/payment"), "paymentrequest")
        payment = api.payment(payment_request("BODY-TARGET"))
        return cls(api.url(f"/{payment['id']}/cancel"), "cancelpaymentrequest", payment["id"])

    def assert_untouched(self, api: Api) -> None:
        if self.payment_id is not None:
            assert api.retrieved(self.payment_id)["status"] == "PENDING"


@pytest.mark.parametrize(("target", "content_type", "template"), BAD_BODIES)
def test_body_that_cannot_be_read(api: Api, target: str, content_type: str, template: str) -> None:
    endpoint = Endpoint.of(api, target)
    content = template.replace("ROOT", endpoint.root).encode("utf-8")
    headers = {"Content-Type": content_type, **api.accept}
    api.errors(api.client.post(endpoint.url, content=content, headers=headers), 400, BAD_BODY)
    endpoint.assert_untouched(api)


def _padded(fmt: str, size: int) -> bytes:
    """A valid cancel body, padded with trailing whitespace to exactly ``size`` bytes."""
    content = encode({"cancelpaymentrequest": ""}, fmt)[0]
    return content + b" " * (size - len(content))


@pytest.mark.parametrize("target", ["create", "cancel"])
def test_body_over_one_mebibyte(api: Api, target: str) -> None:
    endpoint = Endpoint.of(api, target)
    headers = {"Content-Type": MEDIA[api.fmt], **api.accept}
    response = api.client.post(endpoint.url, content=_padded(api.fmt, MIB + 1), headers=headers)
    api.errors(response, 413, row("072000", "body"))
    endpoint.assert_untouched(api)


def _chunks(content: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_size_limit_is_one_mebibyte(api: Api, chunked: bool) -> None:
    headers = {"Content-Type": MEDIA[api.fmt], **api.accept}
    over, exact = _padded(api.fmt, MIB + 1), _padded(api.fmt, MIB)
    url = api.url(f"/{api.payment(payment_request('SIZE-1'))['id']}/cancel")
    response = api.client.post(url, content=_chunks(over) if chunked else over, headers=headers)
    api.errors(response, 413, row("072000", "body"))
    response = api.client.post(url, content=_chunks(exact) if chunked else exact, headers=headers)
    assert api.document(response) == CANCEL_SUCCESS


# --- unknown paths and wrong methods --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/nope",
        "/send/v1/partners/P1/other",
        path("/payment/extra"),
        path("/a/b/cancel"),
        path("?x=1"),
    ],
)
def test_unknown_path(api: Api, url: str) -> None:
    api.errors(api.client.get(url, headers=api.accept), 404, row("110507", "path"))


WRONG_METHODS = [
    pytest.param("PUT", "/KEY/cancel", {"GET", "POST"}, id="PUT-cancel"),
    pytest.param("DELETE", "/KEY/cancel", {"GET", "POST"}, id="DELETE-cancel"),
    pytest.param("DELETE", "/KEY", {"GET"}, id="DELETE-retrieve"),
    pytest.param("POST", "?ref=KEY", {"GET"}, id="POST-retrieve-by-reference"),
    pytest.param("PUT", "/payment", {"POST"}, id="PUT-payment"),
]


@pytest.mark.parametrize(("method", "suffix", "allowed"), WRONG_METHODS)
def test_wrong_method(api: Api, method: str, suffix: str, allowed: set[str]) -> None:
    response = api.client.request(method, api.url(suffix), headers=api.accept)
    api.errors(response, 405, row("082000", "method"))
    allow = {m.strip() for m in response.headers.get("allow", "").split(",")}
    assert allowed <= allow, allow


# --- D10: output conventions ------------------------------------------------------------------

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?(?:Z|[+-]\d\d:\d\d)")
PAYMENT_ID = re.compile(r"rem_[A-Za-z0-9_-]{27}")
AMOUNT = re.compile(r"\d+(?:\.\d+)?")
FX_RATE = re.compile(r"\d{1,10}\.\d{1,10}")
EMPTY_XML_ELEMENT = re.compile(rb"<([A-Za-z_][\w.-]*)>\s*</\1>|<[A-Za-z_][\w.-]*\s*/>")
MONEY_FIELDS = (
    "payment_amount",
    "fees_amount",
    "charged_amount",
    "credited_amount",
    "principal_amount",
    "settlement_details",
)


def _leaves(value: Any, at: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) of a raw JSON document, containers included."""
    yield at, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{at}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, f"{at}.{index}")


def _assert_nothing_empty(fmt: str, content: bytes) -> None:
    if fmt == "xml":
        assert EMPTY_XML_ELEMENT.search(content) is None, content
        return
    for at, value in _leaves(raw_json(content)):
        assert isinstance(value, dict | list | str), (at, value)  # no numbers, bools or null
        assert value not in ("", {}, []), at


def _assert_conventions(payment: dict[str, Any]) -> None:
    assert PAYMENT_ID.fullmatch(payment["id"]), payment["id"]
    for name in ("created", "status_timestamp", "pending_max_completion_date"):
        assert TIMESTAMP.fullmatch(payment[name]), (name, payment[name])
        assert datetime.fromisoformat(payment[name]).utcoffset() == timedelta(0)
    for name in MONEY_FIELDS:
        assert AMOUNT.fullmatch(payment[name]["amount"]), (name, payment[name])
    assert FX_RATE.fullmatch(payment["fx_rate"]), payment["fx_rate"]
    assert payment["additional_data_list"]["item_count"] == "2"


def test_output_conventions(api: Api) -> None:
    request = RECIPIENTS["cash-out"].request(
        "D10-1", additional=[("7260", "CASH"), ("701", "KEN")], receiving_bank_name="A & <B>"
    )
    for response in (api.create(request), api.find("D10-1")):
        payment = api.document(response)["payment"]
        _assert_nothing_empty(api.fmt, response.content)
        _assert_conventions(payment)
        assert payment["receiving_bank_name"] == "A & <B>"


def test_json_and_xml_carry_the_same_information(client: TestClient) -> None:
    created = Api(client, "json").payment(payment_request("SAME-1", additional=[("701", "KEN")]))
    as_json = Api(client, "json").retrieved(created["id"])
    as_xml = Api(client, "xml").retrieved(created["id"])
    completion = "pending_max_completion_date"
    assert datetime.fromisoformat(as_json.pop(completion)) == datetime.fromisoformat(
        as_xml.pop(completion)
    )
    assert as_xml == as_json
    assert decode(Api(client, "xml").cancel(created["id"]).content, "xml") == CANCEL_SUCCESS
