"""The wire codecs (STYLE habit 12) and response negotiation (D9).

Property tests: every response document round-trips through both codecs,
``decode(encode(doc)) == doc``: the ``payment`` views of generated payments (built from
requests the validator accepts), ``CANCEL_SUCCESS`` and ``Errors`` envelopes with one and
several errors. The comparison uses the normalisation ``codecs/base.py`` documents: ``None``
members are omitted by both codecs; ``NULL`` is JSON ``null`` and an omitted element in XML;
XML has no booleans, only their text.

Unit tests: the XML codec's hardening (DTD, entities, external references, depth) and
:func:`xborder.api.negotiation.response_codec`.
"""

from __future__ import annotations

import socket
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xborder.api.codecs import JSON, NULL, XML, Codec, DecodeError
from xborder.api.codecs.xml import MAX_DEPTH
from xborder.api.errors import ErrorItem, Rendered, envelope
from xborder.api.negotiation import codec_for_content_type, response_codec
from xborder.api.problems import NotAcceptable
from xborder.api.schemas import CANCEL_SUCCESS, payment_view
from xborder.domain.channels import Channel
from xborder.domain.errors import Rejection, UnpricedCurrency, ValidationFailed
from xborder.domain.model import Payment, new_payment_id
from xborder.domain.pricing import PricingTable, Quote, price
from xborder.domain.request import PaymentRequest, parse_payment_request
from xborder.domain.states import PaymentStatus, PendingStage

PROPERTY = settings(max_examples=150, deadline=None, database=None)

# --- the documented normalisation ---------------------------------------------------------------


def as_json_reads_it(value: Any) -> Any:
    """``value`` as JSON gives it back: None members dropped, ``NULL`` as None."""
    if value is NULL:
        return None
    if isinstance(value, dict):
        return {k: as_json_reads_it(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [as_json_reads_it(v) for v in value]
    return value


def as_xml_reads_it(value: Any) -> Any:
    """``value`` as XML gives it back: None and ``NULL`` members dropped, booleans as text."""
    if isinstance(value, dict):
        return {k: as_xml_reads_it(v) for k, v in value.items() if v is not None and v is not NULL}
    if isinstance(value, list):
        return [as_xml_reads_it(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def assert_round_trips(document: dict[str, Any]) -> None:
    """Both codecs give ``document`` back, as the normalisation says."""
    assert JSON.decode(JSON.encode(document)) == as_json_reads_it(document)
    assert XML.decode(XML.encode(document)) == as_xml_reads_it(document)


# --- strategies: requests the validator accepts, payments, envelopes ---------------------------

_FORBIDDEN = "{}|~\\"  # docs/reference.md §9: never in text
_ESCAPED = ["<", ">", "&", '"', "'", "]", "\u00a0", "\u2028", "é", "\U0001f600", "\ufffd"]
_CHARACTERS = st.one_of(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters=[*_FORBIDDEN, ";"]),
    st.sampled_from(_ESCAPED),
)
"""Text characters XML can carry, with those a serialiser must escape favoured."""


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Free text of 1..max_size characters, not blank (blank text is absent)."""
    return st.text(_CHARACTERS, min_size=1, max_size=max_size).filter(lambda t: t.strip(" "))


def _digits(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(string.digits, min_size=min_size, max_size=max_size)


_REFERENCE_CHARACTERS = [c for c in map(chr, range(0x20, 0x7F)) if c not in _FORBIDDEN + ",;"]
REFERENCES = st.text(_REFERENCE_CHARACTERS, min_size=1, max_size=40).filter(str.strip)
URIS = st.one_of(
    st.builds("tel:+{}".format, _digits(1, 15)),
    st.builds("ewallet:{}".format, texts(30)),
    st.builds("ewallet:{};sp={}".format, texts(30), texts(20)),
    st.builds("ban:{};bic={}".format, texts(30), texts(11)),
    st.builds(
        "iban:{}{}{}".format,
        st.text(string.ascii_uppercase, min_size=2, max_size=2),
        _digits(2, 2),
        st.text(string.ascii_uppercase + string.digits, min_size=11, max_size=30),
    ),
    st.builds("pan:{}".format, _digits(12, 19)),
)
CURRENCIES = {"USD": 2, "EUR": 2, "KES": 2, "JPY": 0, "KWD": 3, "ISK": 0}
"""Some priced and some unpriced (ISK) currencies, with their minor units."""


@st.composite
def amounts(draw: st.DrawFn) -> dict[str, str]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    places = CURRENCIES[currency]
    minor = draw(st.integers(min_value=1, max_value=10**12))
    return {"amount": str(Decimal(minor).scaleb(-places)), "currency": currency}


FX_TYPES = st.one_of(
    st.builds(
        lambda fees, currency: {"forward": {"fees_included": fees, "receiver_currency": currency}},
        st.sampled_from(["true", "false"]),
        st.sampled_from(sorted(CURRENCIES)),
    ),
    st.builds(
        lambda currency: {"reverse": {"sender_currency": currency}},
        st.sampled_from(sorted(CURRENCIES)),
    ),
)
ADDITIONAL_DATA = st.lists(
    st.fixed_dictionaries({"name": _digits(1, 5), "value": texts(60)}), min_size=1, max_size=3
).map(lambda fields: {"data_field": fields})


def _party(person: bool) -> dict[str, Any]:
    names = {"first_name": "Ann", "last_name": "Lee"} if person else {"organization_name": "ACME"}
    return {**names, "address": {"line1": "1 Main St", "city": "Town", "country": "USA"}}


@st.composite
def request_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A ``paymentrequest`` body that every field rule of §2.2 accepts."""
    payment_type = draw(st.sampled_from(["P2P", "P2B", "B2P", "B2B", "G2P"]))
    optional = {
        "receiving_bank_name": texts(140),
        "receiving_bank_branch_name": texts(140),
        "bank_code": texts(225),
        "source_of_income": texts(35),
        "payment_file_identifier": texts(35),
        "additional_data": ADDITIONAL_DATA,
        draw(st.sampled_from(["proposal_id", "card_rate_id"])): texts(30),
    }
    body = draw(st.fixed_dictionaries({}, optional=optional))
    return body | {
        "transaction_reference": draw(REFERENCES),
        "local_date_time": "1126120000",
        "sender_account_uri": draw(URIS),
        "recipient_account_uri": draw(URIS),
        "payment_amount": draw(amounts()),
        "fx_type": draw(FX_TYPES),  # a forward payment to a pan needs receiver_currency
        "payment_origination_country": draw(st.sampled_from(["USA", "GBR", "KEN"])),
        "payment_type": payment_type,
        "sender": _party(payment_type in {"P2P", "P2B"}),
        "recipient": _party(payment_type in {"P2P", "B2P", "G2P"}),
    }


def _parsed(body: dict[str, Any]) -> PaymentRequest:
    try:
        return parse_payment_request(body)
    except ValidationFailed as exc:  # the strategy must only build valid requests
        raise AssertionError(f"the strategy built an invalid request: {exc}") from exc


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
INSTANTS = st.builds(
    lambda seconds, micros: EPOCH + timedelta(seconds=seconds, microseconds=micros),
    st.integers(0, 100 * 365 * 86_400),
    st.integers(0, 999_999),
)
REJECTIONS = st.builds(
    Rejection,
    detail_code=_digits(6, 6),
    reason_code=st.sampled_from(["DECLINE", "INVALID_INPUT_VALUE", "SYSTEM_ERROR"]),
    description=texts(100),
    source=st.one_of(st.just(""), texts(40)),
)


def _quote(request: PaymentRequest) -> Quote | None:
    """The request priced by the default table, or None where it has no price."""
    amount, fx = request.payment_amount, request.fx_type
    assert amount is not None
    counter = (fx.sender_currency if fx.reverse else fx.receiver_currency) or amount.currency
    try:
        return price(
            amount,
            reverse=fx.reverse,
            fees_included=fx.fees_included,
            counter_currency=counter,
            table=PricingTable(),
        )
    except UnpricedCurrency:
        return None


@st.composite
def payments(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]]) -> Payment:
    """A payment made from a valid request, in any status, stage and shape of reason."""
    request = _parsed(draw(bodies))
    status = draw(st.sampled_from(PaymentStatus))
    stage = draw(st.sampled_from(PendingStage)) if status is PaymentStatus.PENDING else None
    created = draw(INSTANTS)
    reasons = status in (PaymentStatus.REJECTED, PaymentStatus.RETURNED)
    return Payment(
        id=new_payment_id(),
        partner_id="PARTNER",
        transaction_reference=request.transaction_reference,
        request=request.wire,
        request_fingerprint="not-used-by-views",
        channel=draw(st.sampled_from(Channel)),
        provider=None,
        status=status,
        pending_stage=stage,
        created=created,
        status_timestamp=created + draw(st.timedeltas(timedelta(0), timedelta(days=40))),
        pending_max_completion_date=created + timedelta(days=5) if stage else None,
        quote=_quote(request) if draw(st.booleans()) else None,
        cashout_code=draw(st.none() | _digits(10, 10)),
        rejection=draw(REJECTIONS) if reasons and draw(st.booleans()) else None,
        return_message=draw(texts(200)) if status is PaymentStatus.RETURNED else None,
    )


ERROR_ITEMS = st.builds(
    ErrorItem,
    reason_code=st.sampled_from(["DECLINE", "INVALID_INPUT_LENGTH", "RESOURCE_UNKNOWN"]),
    description=st.one_of(st.just(""), texts(80)),
    source=st.one_of(st.just(""), texts(60)),
    detail_code=st.none() | _digits(6, 6),
)


# --- property tests --------------------------------------------------------------------------


@PROPERTY
@given(payment=payments(request_bodies()), retrieve=st.booleans())
def test_payment_documents_round_trip(payment: Payment, retrieve: bool) -> None:
    document = payment_view(payment, retrieve=retrieve)
    assert as_xml_reads_it(document) == document  # D10: strings only, nothing empty or null
    assert JSON.decode(JSON.encode(document)) == document
    assert XML.decode(XML.encode(document)) == document


@PROPERTY
@given(character=st.characters())
@example(character="\ufffe")
@example(character="\uffff")
@example(character="\ud800")
def test_every_character_the_validator_accepts_survives_both_codecs(character: str) -> None:
    """A value is either refused at the door (D8) or carried by JSON and XML alike (D10)."""
    body = {
        **_party_request(),
        "receiving_bank_name": f"Bank{character}",
        "additional_data": {"data_field": [{"name": "1", "value": f"x{character}"}]},
    }
    try:
        request = parse_payment_request(body)
    except ValidationFailed:
        return
    assert_round_trips(payment_view(_plain_payment(request)))


def _party_request() -> dict[str, Any]:
    return {
        "transaction_reference": "CHARS-1",
        "sender_account_uri": "tel:+12125551234",
        "recipient_account_uri": "tel:+254108989",
        "payment_amount": {"amount": "10.00", "currency": "USD"},
        "payment_origination_country": "USA",
        "payment_type": "P2P",
        "sender": _party(True),
        "recipient": _party(True),
    }


def _plain_payment(request: PaymentRequest) -> Payment:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    return Payment(
        id=new_payment_id(),
        partner_id="PARTNER",
        transaction_reference=request.transaction_reference,
        request=request.wire,
        request_fingerprint="not-used-by-views",
        channel=Channel.MOBILE_MONEY,
        provider=None,
        status=PaymentStatus.PENDING,
        pending_stage=PendingStage.PROCESSING,
        created=now,
        status_timestamp=now,
        pending_max_completion_date=now + timedelta(days=5),
    )


def test_cancel_success_round_trips() -> None:
    assert_round_trips(CANCEL_SUCCESS)
    assert XML.decode(XML.encode(CANCEL_SUCCESS)) == JSON.decode(JSON.encode(CANCEL_SUCCESS))


@PROPERTY
@given(
    items=st.lists(ERROR_ITEMS, min_size=1, max_size=4),
    request_id=st.none() | _digits(1, 12),
    with_request_id=st.booleans(),
)
def test_error_envelopes_round_trip(
    items: list[ErrorItem], request_id: str | None, with_request_id: bool
) -> None:
    document = envelope(Rendered(400, tuple(items), request_id=with_request_id), request_id)
    errors = document["Errors"]["Error"]
    assert isinstance(errors, dict if len(items) == 1 else list)
    assert_round_trips(document)


# --- the XML codec's hardening -------------------------------------------------------------------

HOSTILE_XML = {
    "dtd": b"<!DOCTYPE cancelpaymentrequest><cancelpaymentrequest/>",
    "internal-entity": b'<!DOCTYPE r [<!ENTITY e "expanded">]><r>&e;</r>',
    "billion-laughs": (
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><r>&c;</r>'
    ),
    "external-entity-file": b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/hostname">]><r>&e;</r>',
    "external-entity-url": b'<!DOCTYPE r [<!ENTITY e SYSTEM "http://192.0.2.1/e">]><r>&e;</r>',
    "external-dtd": b'<!DOCTYPE r SYSTEM "http://192.0.2.1/r.dtd"><r/>',
    "parameter-entity": b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://192.0.2.1/p"> %p;]><r/>',
    "undeclared-entity": b"<r>&e;</r>",
}
"""192.0.2.0/24 is TEST-NET-1: never routed."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything opens a network connection."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the XML parser tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("data", list(HOSTILE_XML.values()), ids=list(HOSTILE_XML))
def test_xml_refuses_dtds_entities_and_external_references(data: bytes) -> None:
    with pytest.raises(DecodeError):
        XML.decode(data)


def test_xml_never_processes_xinclude() -> None:
    data = (
        b'<r xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/hostname" parse="text"/></r>'
    )
    assert XML.decode(data) == {"r": {"include": ""}}


def _nested(depth: int) -> bytes:
    return b"<a>" * depth + b"x" + b"</a>" * depth


def test_xml_accepts_nesting_up_to_the_limit() -> None:
    document: Any = XML.decode(_nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        document = document["a"]
    assert document == {"a": "x"}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000])
def test_xml_refuses_nesting_deeper_than_the_limit(depth: int) -> None:
    with pytest.raises(DecodeError):
        XML.decode(_nested(depth))


@pytest.mark.parametrize(
    "data",
    [b"", b"<r>", b"<r></s>", b"<a/><b/>", b"\xff\xfe<r/>", b"not xml", b"<r>\x01</r>"],
    ids=["empty", "unclosed", "mismatched", "two-roots", "bad-bytes", "text", "control-char"],
)
def test_xml_refuses_what_is_not_well_formed(data: bytes) -> None:
    with pytest.raises(DecodeError):
        XML.decode(data)


def test_xml_ignores_namespaces_and_attributes_and_lists_data_fields() -> None:
    data = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<x:cancelpaymentrequest xmlns:x="urn:example" a="1"><additional_data>'
        b"<data_field><name>1</name><value>v</value></data_field>"
        b"</additional_data></x:cancelpaymentrequest>"
    )
    data_field = [{"name": "1", "value": "v"}]
    assert XML.decode(data) == {
        "cancelpaymentrequest": {"additional_data": {"data_field": data_field}}
    }


def test_xml_escapes_markup_in_text() -> None:
    encoded = XML.encode({"r": {"t": '<a href="x">&amp;\'</a>'}})
    assert b"<a " not in encoded
    assert XML.decode(encoded) == {"r": {"t": '<a href="x">&amp;\'</a>'}}


# --- the JSON codec ---------------------------------------------------------------------------


def test_json_keeps_numbers_as_their_literal_text() -> None:
    assert JSON.decode(b'{"r": {"amount": 100.10, "n": 7}}') == {
        "r": {"amount": "100.10", "n": "7"}
    }


@pytest.mark.parametrize(
    "data",
    [b"", b"[]", b'"r"', b'{"r": NaN}', b'{"r": Infinity}', b"\xff{}", b"{", b"[" * 100_000],
    ids=["empty", "array", "string", "nan", "infinity", "bad-bytes", "unclosed", "deep"],
)
def test_json_refuses_what_is_not_an_object(data: bytes) -> None:
    with pytest.raises(DecodeError):
        JSON.decode(data)


# --- negotiation (D9) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        (None, None),
        ("", None),
        ("application/json", JSON),
        ("application/json; charset=utf-8", JSON),
        ("Application/XML; charset=UTF-8", XML),
        ("text/xml", XML),
        ("text/plain", None),
        ("application/x-www-form-urlencoded", None),
    ],
)
def test_codec_for_content_type(content_type: str | None, expected: Codec | None) -> None:
    assert codec_for_content_type(content_type) is expected


RESPONSE_CODECS = [
    pytest.param(None, None, JSON, id="nothing-json"),
    pytest.param(None, "application/xml", XML, id="no-accept-follows-content-type"),
    pytest.param("", "text/xml; charset=utf-8", XML, id="blank-accept-follows-content-type"),
    pytest.param(None, "text/plain", JSON, id="unsupported-content-type-json"),
    pytest.param("*/*", "application/xml", XML, id="any-follows-content-type"),
    pytest.param("*/*", None, JSON, id="any-without-content-type-json"),
    pytest.param("application/xml", "application/json", XML, id="accept-wins"),
    pytest.param("application/json", "application/xml", JSON, id="accept-wins-json"),
    pytest.param("text/xml", None, XML, id="text-xml"),
    pytest.param("APPLICATION/XML", None, XML, id="case-insensitive"),
    pytest.param("application/json; charset=utf-8", "application/xml", JSON, id="parameters"),
    pytest.param("application/json;q=0.5, application/xml", None, XML, id="quality"),
    pytest.param("application/xml;q=0, application/json", None, JSON, id="q-zero-dropped"),
    pytest.param("text/html, application/xml;q=0.9", None, XML, id="skips-unknown"),
    pytest.param("text/html, */*;q=0.1", "application/xml", XML, id="wildcard-fallback"),
]


@pytest.mark.parametrize(("accept", "content_type", "expected"), RESPONSE_CODECS)
def test_response_codec(accept: str | None, content_type: str | None, expected: Codec) -> None:
    assert response_codec(accept, content_type) is expected


@pytest.mark.parametrize(
    "accept", ["text/html", "application/pdf, image/png", "application/xml;q=0", "text/plain;q=1"]
)
@pytest.mark.parametrize("content_type", [None, "application/xml", "application/json"])
def test_response_codec_refuses_accept_naming_neither_json_nor_xml(
    accept: str, content_type: str | None
) -> None:
    with pytest.raises(NotAcceptable):
        response_codec(accept, content_type)
