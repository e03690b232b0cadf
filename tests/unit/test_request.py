"""Parsing and validation of the ``paymentrequest`` body of the Payment API
(docs/reference.md §2.2, D8)."""

from __future__ import annotations

import copy
import random
import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.domain.field_rules import RULES as _RULES
from xborder.domain.money import Money
from xborder.domain.request import (
    GOVERNMENT_ID_SCHEMES,
    PURPOSES_OF_PAYMENT,
    ROOT,
    FxDirection,
    FxType,
    PaymentRequest,
    parse_payment_request,
)
from xborder.domain.request_shape import POSITION as _POSITION

GOV_SENDER = "ppn:123456789;expiration-date=2019-05-27;issue-date=2011-07-12;country=USA"
GOV_RECIPIENT_1 = "ppn:987654321;expiration-date=2030-01-31;issue-date=2020-02-01;country=KEN"
GOV_RECIPIENT_2 = "dln:K-2020-55"
_URI = "government_id_uri"

# A D-PAY-like request as the JSON codec decodes it: numbers as text, booleans as bool,
# government ids and additional data in their list forms.
JSON_BODY: dict[str, Any] = {
    "transaction_reference": "0999999034810154901",
    "sender_account_uri": "tel:+25406005",
    "recipient_account_uri": "tel:+254108989",
    "payment_amount": {"amount": "18", "currency": "USD"},
    "payment_origination_country": "USA",
    "fx_type": {"forward": {"fees_included": True}},
    "receiving_bank_name": "Bank of Nairobi",
    "receiving_bank_branch_name": "Westlands",
    "bank_code": "NP021",
    "payment_type": "P2P",
    "source_of_income": "Salary",
    "sender": {
        "first_name": "John",
        "middle_name": "L",
        "last_name": "Jones",
        "nationality": "USA",
        "address": {
            "line1": "21 Broadway",
            "line2": "Apartment A-6",
            "city": "OFallon",
            "country_subdivision": "MO",
            "postal_code": "63368",
            "country": "USA",
        },
        "government_ids": {"government_id_uri": GOV_SENDER},
        "date_of_birth": "1985-06-24",
    },
    "recipient": {
        "first_name": "Jose",
        "middle_name": "Lopez",
        "last_name": "Kamau",
        "nationality": "KEN",
        "address": {"line1": "Moi Avenue 5", "city": "Nairobi", "country": "KEN"},
        "government_ids": [
            {"government_id_uri": GOV_RECIPIENT_1},
            {"government_id_uri": GOV_RECIPIENT_2},
        ],
        "date_of_birth": "1990-02-28",
        "phone": "+254108989",
        "email": "jose.kamau@example.com",
    },
    "purpose_of_payment": "Family Maintenance",
    "payment_file_identifier": "batch-2024-01",
    "additional_data": {
        "data_field": [{"name": "701", "value": "KEN"}, {"name": "1200", "value": "KEN-MM"}]
    },
}

# The same request as the XML codec decodes it: everything text, repeated elements as lists,
# empty elements as "", indentation left around some values, members in another order.
XML_BODY: dict[str, Any] = {
    "sender_account_uri": "tel:+25406005",
    "transaction_reference": "\n    0999999034810154901\n  ",
    "recipient_account_uri": "tel:+254108989",
    "payment_amount": {"currency": "USD", "amount": "18.00"},
    "payment_origination_country": "USA",
    "fx_type": {"forward": {"fees_included": "true", "receiver_currency": ""}},
    "receiving_bank_name": "Bank of Nairobi",
    "receiving_bank_branch_name": "Westlands",
    "bank_code": "NP021",
    "payment_type": "P2P",
    "source_of_income": "Salary",
    "proposal_id": "",
    "sender": {
        "last_name": "Jones",
        "first_name": "\n      John\n    ",
        "middle_name": "L",
        "nationality": "USA",
        "address": {
            "line1": "21 Broadway",
            "line2": "Apartment A-6",
            "city": "OFallon",
            "country_subdivision": "MO",
            "postal_code": "63368",
            "country": "USA",
        },
        "government_ids": {"government_id_uri": GOV_SENDER},
        "date_of_birth": "1985-06-24",
    },
    "recipient": {
        "first_name": "Jose",
        "middle_name": "Lopez",
        "last_name": "Kamau",
        "nationality": "KEN",
        "address": {"line1": "Moi Avenue 5", "city": "Nairobi", "country": "KEN", "line2": ""},
        "government_ids": {"government_id_uri": [GOV_RECIPIENT_1, GOV_RECIPIENT_2]},
        "date_of_birth": "1990-02-28",
        "phone": "+254108989",
        "email": "jose.kamau@example.com",
    },
    "purpose_of_payment": "Family Maintenance",
    "payment_file_identifier": "batch-2024-01",
    "card_rate_id": "",
    "additional_data": {
        "data_field": [{"name": "701", "value": "KEN"}, {"name": "1200", "value": "KEN-MM"}]
    },
    "unknown_member": {"ignored": "yes"},
}

EXPECTED_WIRE: dict[str, Any] = {
    "transaction_reference": "0999999034810154901",
    "sender_account_uri": "tel:+25406005",
    "recipient_account_uri": "tel:+254108989",
    "payment_amount": {"amount": "18.00", "currency": "USD"},
    "payment_origination_country": "USA",
    "fx_type": {"forward": {"fees_included": "true"}},
    "receiving_bank_name": "Bank of Nairobi",
    "receiving_bank_branch_name": "Westlands",
    "bank_code": "NP021",
    "payment_type": "P2P",
    "source_of_income": "Salary",
    "sender": {
        "first_name": "John",
        "middle_name": "L",
        "last_name": "Jones",
        "nationality": "USA",
        "address": {
            "line1": "21 Broadway",
            "line2": "Apartment A-6",
            "city": "OFallon",
            "country_subdivision": "MO",
            "postal_code": "63368",
            "country": "USA",
        },
        "government_ids": {"government_id_uri": [GOV_SENDER]},
        "date_of_birth": "1985-06-24",
    },
    "recipient": {
        "first_name": "Jose",
        "middle_name": "Lopez",
        "last_name": "Kamau",
        "nationality": "KEN",
        "address": {"line1": "Moi Avenue 5", "city": "Nairobi", "country": "KEN"},
        "government_ids": {"government_id_uri": [GOV_RECIPIENT_1, GOV_RECIPIENT_2]},
        "date_of_birth": "1990-02-28",
        "phone": "+254108989",
        "email": "jose.kamau@example.com",
    },
    "purpose_of_payment": "Family Maintenance",
    "payment_file_identifier": "batch-2024-01",
    "additional_data": {
        "data_field": [{"name": "701", "value": "KEN"}, {"name": "1200", "value": "KEN-MM"}]
    },
}

DELETE = object()
PAN = "pan:5299920210000277"


def changed(body: dict[str, Any], changes: dict[str, object]) -> dict[str, Any]:
    """A deep copy of ``body`` with each dotted path set to its value (or removed)."""
    body = copy.deepcopy(body)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = body
        for name in parents:
            node = node.setdefault(name, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    return body


def problems(body: object) -> list[tuple[str, str]]:
    try:
        parse_payment_request(body)
    except ValidationFailed as exc:
        return [(problem.kind.name, problem.source) for problem in exc.problems]
    return []


# --- the full request in both decoded shapes -----------------------------------------------------


def test_json_shape_parses_to_the_canonical_wire() -> None:
    request = parse_payment_request(JSON_BODY)
    assert request.wire == EXPECTED_WIRE
    assert list(request.wire) == list(EXPECTED_WIRE)
    sender = request.wire["sender"]
    assert isinstance(sender, dict)
    assert list(sender) == list(EXPECTED_WIRE["sender"])
    assert list(sender["address"]) == list(EXPECTED_WIRE["sender"]["address"])


def test_xml_shape_parses_to_the_same_request() -> None:
    from_json = parse_payment_request(JSON_BODY)
    from_xml = parse_payment_request(XML_BODY)
    assert from_xml.wire == EXPECTED_WIRE
    assert from_xml == from_json
    assert from_xml.fingerprint() == from_json.fingerprint()
    assert hash(from_xml) == hash(from_json)


def test_typed_accessors() -> None:
    request = parse_payment_request(JSON_BODY)
    assert request.transaction_reference == "0999999034810154901"
    assert request.proposal_id is None
    assert request.payment_type == "P2P"
    assert request.sender_account_uri == "tel:+25406005"
    assert request.recipient_account_uri == "tel:+254108989"
    assert request.payment_amount == Money(Decimal("18.00"), "USD")
    assert request.payment_amount is not None and request.payment_amount.to_wire() == "18.00"
    assert request.payment_origination_country == "USA"
    assert request.fx_type == FxType(FxDirection.FORWARD, fees_included=True)
    assert not request.fx_type.reverse
    assert request.bank_code == "NP021"
    assert request.additional_data == (("701", "KEN"), ("1200", "KEN-MM"))
    assert request.additional_value("1200") == "KEN-MM"
    assert request.additional_value("7260") is None
    assert request.recipient_scheme == "tel"
    assert request.recipient_provider is None
    assert request.value("sender.address.country") == "USA"
    assert request.value("recipient.government_ids.government_id_uri") == GOV_RECIPIENT_1
    assert request.value("recipient.address.line2") is None


def test_fingerprint_is_sha256_hex_and_payload_sensitive() -> None:
    request = parse_payment_request(JSON_BODY)
    other = parse_payment_request(changed(JSON_BODY, {"sender.address.line2": "Apartment A-7"}))
    assert len(request.fingerprint()) == 64
    assert int(request.fingerprint(), 16) >= 0
    assert request.fingerprint() != other.fingerprint()
    assert request != other


def test_wire_is_itself_a_valid_body_with_the_same_wire() -> None:
    request = parse_payment_request(JSON_BODY)
    assert parse_payment_request(request.wire) == request


def test_repr_leaves_out_the_wire() -> None:
    assert "wire" not in repr(parse_payment_request(JSON_BODY))


@pytest.mark.parametrize(
    ("fx_type", "expected"),
    [
        (DELETE, FxType(FxDirection.FORWARD, fees_included=True)),
        ({}, FxType(FxDirection.FORWARD, fees_included=True)),
        ("", FxType(FxDirection.FORWARD, fees_included=True)),
        ({"forward": ""}, FxType(FxDirection.FORWARD, fees_included=True)),
        ({"forward": {"fees_included": False}}, FxType(FxDirection.FORWARD, fees_included=False)),
        (
            {"forward": {"fees_included": "false", "receiver_currency": "KES"}},
            FxType(FxDirection.FORWARD, fees_included=False, receiver_currency="KES"),
        ),
        (
            {"reverse": {"sender_currency": "EUR"}},
            FxType(FxDirection.REVERSE, fees_included=False, sender_currency="EUR"),
        ),
    ],
)
def test_effective_fx_type(fx_type: object, expected: FxType) -> None:
    request = parse_payment_request(changed(JSON_BODY, {"fx_type": fx_type}))
    assert request.fx_type == expected
    assert request.fx_type.reverse is (expected.direction is FxDirection.REVERSE)


@pytest.mark.parametrize(
    ("uri", "scheme", "provider"),
    [
        ("ewallet:abcdefgh.fghh;sp=transpay", "ewallet", "transpay"),
        ("ewallet:paypal_user011", "ewallet", None),
        ("ban:45678993;bic=UNBECNSHXXX", "ban", None),
        ("iban:CH9300762011623852957", "iban", None),
        ("tel:+254108989", "tel", None),
    ],
)
def test_recipient_scheme_and_provider(uri: str, scheme: str, provider: str | None) -> None:
    request = parse_payment_request(changed(JSON_BODY, {"recipient_account_uri": uri}))
    assert request.recipient_scheme == scheme
    assert request.recipient_provider == provider


def test_a_payment_with_a_proposal_needs_only_the_reference() -> None:
    request = parse_payment_request(
        {"transaction_reference": "08123ACFQ", "proposal_id": "pen_4000"}
    )
    assert request.wire == {"transaction_reference": "08123ACFQ", "proposal_id": "pen_4000"}
    assert request.payment_amount is None
    assert request.payment_type is None
    assert request.recipient_scheme is None
    assert request.recipient_provider is None
    assert request.additional_data == ()


@pytest.mark.parametrize(
    "additional_data",
    [
        DELETE,
        None,
        "",
        "\n  ",
        {},
        {"data_field": []},
        {"data_field": ""},
        {"data_field": None},
        {"data_field": [""]},
        {"data_field": [{}]},
    ],
)
def test_empty_additional_data_is_valid_and_left_out(additional_data: object) -> None:
    request = parse_payment_request(changed(JSON_BODY, {"additional_data": additional_data}))
    assert "additional_data" not in request.wire
    assert request.additional_data == ()


def test_single_data_field_object_is_normalised_to_a_list() -> None:
    body = changed(
        JSON_BODY, {"additional_data": {"data_field": {"name": "7260", "value": "CASH"}}}
    )
    request = parse_payment_request(body)
    assert request.wire["additional_data"] == {"data_field": [{"name": "7260", "value": "CASH"}]}
    assert request.additional_value("7260") == "CASH"


@pytest.mark.parametrize(
    "government_ids",
    [
        {"government_id_uri": [GOV_RECIPIENT_1, GOV_RECIPIENT_2]},
        [{"government_id_uri": GOV_RECIPIENT_1}, {"government_id_uri": GOV_RECIPIENT_2}],
        [{"government_id_uri": [GOV_RECIPIENT_1]}, "", {"government_id_uri": GOV_RECIPIENT_2}],
    ],
)
def test_government_ids_forms_are_normalised(government_ids: object) -> None:
    request = parse_payment_request(
        changed(JSON_BODY, {"recipient.government_ids": government_ids})
    )
    recipient = request.wire["recipient"]
    assert isinstance(recipient, dict)
    assert recipient["government_ids"] == {_URI: [GOV_RECIPIENT_1, GOV_RECIPIENT_2]}


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [
        ("18", "USD", "18.00"),
        ("10.500", "USD", "10.50"),
        ("0010.5", "EUR", "10.50"),
        ("1000", "JPY", "1000"),
        ("1000.00", "JPY", "1000"),
        ("100", "BHD", "100.000"),
    ],
)
def test_amount_is_written_at_the_currency_minor_units(
    amount: str, currency: str, wire: str
) -> None:
    body = changed(JSON_BODY, {"payment_amount": {"amount": amount, "currency": currency}})
    request = parse_payment_request(body)
    assert request.wire["payment_amount"] == {"amount": wire, "currency": currency}


# --- one failing and one passing case per rule ---------------------------------------------------

_REF = "transaction_reference"
_URI_R = "recipient_account_uri"
_GOV = "sender.government_ids.government_id_uri"
_PAN_OK = {"local_date_time": "0101120000", "fx_type.forward.receiver_currency": "KES"}

# (path, kind, value): setting the one field at ``path`` gives one problem of ``kind`` there.
REFUSED = [
    # transaction_reference: required, 1-40, printable ASCII except { } | ~ \ , ;
    (_REF, "MISSING", DELETE),
    (_REF, "MISSING", ""),
    (_REF, "MISSING", " \n "),
    (_REF, "LENGTH", "1" * 41),
    *[(_REF, "FORMAT", f"09A{ch}B") for ch in "{}|~\\,;\x01\x7féß€"],
    (_REF, "FORMAT", ["09A", "09B"]),
    (_REF, "FORMAT", {"x": "1"}),
    (_REF, "FORMAT", True),
    # proposal_id: 0-30
    ("proposal_id", "LENGTH", "p" * 31),
    ("proposal_id", "FORMAT", "pen_{1}"),
    # local_date_time: MMDDHHMMSS
    ("local_date_time", "FORMAT", "012312000"),
    ("local_date_time", "FORMAT", "01231200ab"),
    ("local_date_time", "VALUE", "1301120000"),
    ("local_date_time", "VALUE", "0230120000"),
    ("local_date_time", "VALUE", "0101240000"),
    ("local_date_time", "VALUE", "0101236000"),
    ("local_date_time", "VALUE", "0101235960"),
    # account URIs: required unless proposal_id, 1-200, the schemes of §2.5
    ("sender_account_uri", "MISSING", DELETE),
    ("sender_account_uri", "LENGTH", "ewallet:" + "a" * 193),
    ("sender_account_uri", "FORMAT", "ewallet:a|b"),
    ("sender_account_uri", "FORMAT", "ewallet:a\nb"),
    (_URI_R, "MISSING", DELETE),
    (_URI_R, "FORMAT", "254108989"),
    (_URI_R, "VALUE", "mailto:a@b.c"),
    (_URI_R, "VALUE", "TEL:+254108989"),
    (_URI_R, "FORMAT", "tel:254108989"),
    (_URI_R, "FORMAT", "tel:+1234567890123456"),
    (_URI_R, "FORMAT", "tel:+2541089x9"),
    (_URI_R, "FORMAT", "ewallet:;sp=transpay"),
    (_URI_R, "FORMAT", "ewallet:abc;sp="),
    (_URI_R, "FORMAT", "ewallet:abc;xp=1"),
    (_URI_R, "FORMAT", "ban:45678993"),
    (_URI_R, "FORMAT", "ban:45678993;bic="),
    (_URI_R, "FORMAT", "iban:ch9300762011623852957"),
    (_URI_R, "FORMAT", "iban:CH9300762"),
    # payment_amount: required unless proposal_id; amount a positive decimal <= 18; ISO 4217
    ("payment_amount", "MISSING", DELETE),
    ("payment_amount", "FORMAT", "18 USD"),
    ("payment_amount.amount", "MISSING", DELETE),
    ("payment_amount.amount", "LENGTH", "12345678901234567.0"),
    ("payment_amount.amount", "FORMAT", "1e3"),
    ("payment_amount.amount", "FORMAT", "1.2.3"),
    ("payment_amount.amount", "FORMAT", "1,50"),
    ("payment_amount.amount", "FORMAT", ".50"),
    ("payment_amount.amount", "FORMAT", "+5"),
    ("payment_amount.amount", "VALUE", "-5.00"),
    ("payment_amount.amount", "VALUE", "0.00"),
    ("payment_amount.amount", "VALUE", "10.001"),
    ("payment_amount.currency", "MISSING", DELETE),
    ("payment_amount.currency", "LENGTH", "US"),
    ("payment_amount.currency", "FORMAT", "U5D"),
    ("payment_amount.currency", "VALUE", "usd"),
    ("payment_amount.currency", "VALUE", "ABC"),
    ("payment_amount.currency", "VALUE", "HRK"),
    ("payment_amount.currency", "VALUE", "XAU"),
    # payment_origination_country: required unless proposal_id; ISO 3166-1 alpha-3
    ("payment_origination_country", "MISSING", DELETE),
    ("payment_origination_country", "LENGTH", "US"),
    ("payment_origination_country", "FORMAT", "U5A"),
    ("payment_origination_country", "VALUE", "XXX"),
    # fx_type
    ("fx_type", "FORMAT", [{"forward": {}}]),
    ("fx_type.forward.fees_included", "VALUE", "yes"),
    ("fx_type.forward.fees_included", "VALUE", "TRUE"),
    ("fx_type.forward.receiver_currency", "LENGTH", "KESH"),
    ("fx_type.forward.receiver_currency", "VALUE", "ZZZ"),
    # corridor text fields
    ("receiving_bank_name", "LENGTH", "b" * 141),
    ("receiving_bank_name", "FORMAT", "Bank ~ One"),
    ("receiving_bank_branch_name", "LENGTH", "b" * 141),
    ("receiving_bank_branch_name", "FORMAT", "West\\lands"),
    ("bank_code", "LENGTH", "c" * 226),
    ("bank_code", "FORMAT", "NP{021}"),
    ("source_of_income", "LENGTH", "s" * 36),
    ("source_of_income", "FORMAT", "Sal\tary"),
    # payment_type
    ("payment_type", "MISSING", DELETE),
    ("payment_type", "LENGTH", "P2PP"),
    ("payment_type", "VALUE", "C2C"),
    ("payment_type", "VALUE", "p2p"),
    # sender and recipient (the base request is P2P: two people)
    ("sender", "FORMAT", "John Jones"),
    ("sender.first_name", "MISSING", DELETE),
    ("sender.first_name", "LENGTH", "J" * 141),
    ("sender.first_name", "FORMAT", "Jo\nhn"),
    ("sender.last_name", "MISSING", DELETE),
    ("sender.organization_name", "VALUE", "Acme"),
    ("recipient.organization_name", "VALUE", "Acme"),
    ("recipient.middle_name", "FORMAT", "L|M"),
    ("recipient.last_name", "FORMAT", ["Kamau", "Otieno"]),
    ("sender.nationality", "LENGTH", "USAA"),
    ("recipient.nationality", "VALUE", "ZZZ"),
    ("sender.address", "FORMAT", "21 Broadway"),
    ("sender.address.line1", "MISSING", DELETE),
    ("sender.address.line1", "LENGTH", "l" * 501),
    ("sender.address.line2", "LENGTH", "l" * 501),
    ("sender.address.line2", "FORMAT", "Apt {6}"),
    ("sender.address.city", "LENGTH", "c" * 36),
    ("sender.address.country_subdivision", "LENGTH", "M"),
    ("sender.address.country_subdivision", "LENGTH", "M" * 36),
    ("sender.address.postal_code", "LENGTH", "6" * 17),
    ("sender.address.country", "LENGTH", "US"),
    ("sender.address.country", "VALUE", "ZZZ"),
    ("recipient.address.country", "MISSING", DELETE),
    ("sender.date_of_birth", "FORMAT", "1985/06/24"),
    ("sender.date_of_birth", "FORMAT", "19850624"),
    ("recipient.date_of_birth", "VALUE", "1990-02-30"),
    ("recipient.phone", "LENGTH", "+" + "1" * 30),
    ("recipient.phone", "FORMAT", "+254~108989"),
    ("recipient.email", "LENGTH", "a@b"),
    ("recipient.email", "LENGTH", "a" * 990 + "@example.com"),
    ("recipient.email", "FORMAT", "a|b@example.com"),
    # government ids: <scheme>:<id>;expiration-date=…;issue-date=…;country=…
    ("sender.government_ids", "FORMAT", "ppn:123"),
    (_GOV, "FORMAT", {"x": "1"}),
    (_GOV, "LENGTH", "ppn:1;country=USA" + ";issue-date=2011-07-12" * 9),
    (_GOV, "FORMAT", "ppn123456789"),
    (_GOV, "FORMAT", "ppn:;country=USA"),
    (_GOV, "VALUE", "xyz:123456789"),
    (_GOV, "VALUE", "PPN:123456789"),
    (_GOV, "LENGTH", "ppn:" + "1" * 81),
    (_GOV, "FORMAT", "ppn:12|34"),
    (_GOV, "FORMAT", "ppn:1234;colour=red"),
    (_GOV, "FORMAT", "ppn:1234;country"),
    (_GOV, "FORMAT", "ppn:1234;"),
    (_GOV, "FORMAT", "ppn:1234;expiration-date=27-05-2019"),
    (_GOV, "VALUE", "ppn:1234;issue-date=2011-02-30"),
    (_GOV, "VALUE", "ppn:1234;country=ZZZ"),
    (_GOV, "FORMAT", "ppn:1234;country=840"),
    # purpose_of_payment, payment_file_identifier, card_rate_id
    ("purpose_of_payment", "LENGTH", "p" * 40),
    ("purpose_of_payment", "VALUE", "Gambling"),
    ("purpose_of_payment", "VALUE", "family maintenance"),
    ("payment_file_identifier", "LENGTH", "f" * 36),
    ("payment_file_identifier", "FORMAT", "f;1}"),
    ("card_rate_id", "LENGTH", "r" * 36),
    ("card_rate_id", "FORMAT", "r\x00"),
    # additional_data
    ("additional_data", "FORMAT", "7260=CASH"),
    ("additional_data", "FORMAT", [{"data_field": []}]),
    ("additional_data.data_field", "FORMAT", "7260"),
]

_DATA = "additional_data.data_field"
_NAME, _VALUE = f"{_DATA}.name", f"{_DATA}.value"

# (id, changes, expected problems): rules that span fields or items.
REFUSED_TOGETHER = [
    ("ldt for pan", {_URI_R: PAN, "fx_type.forward.receiver_currency": "KES"},
     [("MISSING", "local_date_time")]),
    ("pan too short", {_URI_R: "pan:52999202", **_PAN_OK}, [("FORMAT", _URI_R)]),
    ("pan bad exp", {_URI_R: PAN + ";exp=2025-6", **_PAN_OK}, [("FORMAT", _URI_R)]),
    ("pan exp month", {_URI_R: PAN + ";exp=2025-13", **_PAN_OK}, [("VALUE", _URI_R)]),
    ("empty amount", {"payment_amount": {}},
     [("MISSING", "payment_amount.amount"), ("MISSING", "payment_amount.currency")]),
    ("yen fraction", {"payment_amount": {"amount": "100.5", "currency": "JPY"}},
     [("VALUE", "payment_amount.amount")]),
    ("forward and reverse", {"fx_type.reverse": {"sender_currency": "EUR"}},
     [("VALUE", "fx_type.reverse")]),
    ("receiver currency for pan", {_URI_R: PAN, "local_date_time": "0101120000"},
     [("MISSING", "fx_type.forward.receiver_currency")]),
    ("receiver currency, default fx", {_URI_R: PAN, "local_date_time": "0101120000",
                                       "fx_type": DELETE},
     [("MISSING", "fx_type.forward.receiver_currency")]),
    ("reverse currency", {"fx_type": {"reverse": {}}},
     [("MISSING", "fx_type.reverse.sender_currency")]),
    ("reverse currency unknown", {"fx_type": {"reverse": {"sender_currency": "ZZZ"}}},
     [("VALUE", "fx_type.reverse.sender_currency")]),
    ("no sender", {"sender": DELETE},
     [("MISSING", "sender.first_name"), ("MISSING", "sender.last_name")]),
    ("empty address", {"sender.address": ""},
     [("MISSING", "sender.address.line1"), ("MISSING", "sender.address.country")]),
    ("one bad id of two", {"recipient.government_ids": {_URI: [GOV_RECIPIENT_1, "ssn:"]}},
     [("FORMAT", "recipient.government_ids.government_id_uri")]),
    ("card rate with proposal", {"card_rate_id": "rate_1", "proposal_id": "pen_4000"},
     [("VALUE", "card_rate_id")]),
    ("data name letters", {_DATA: [{"name": "7a", "value": "x"}]}, [("FORMAT", _NAME)]),
    ("data name long", {_DATA: [{"name": "123456", "value": "x"}]}, [("LENGTH", _NAME)]),
    ("data value long", {_DATA: [{"name": "1", "value": "v" * 1001}]}, [("LENGTH", _VALUE)]),
    ("data value control", {_DATA: [{"name": "1", "value": "a\x07"}]}, [("FORMAT", _VALUE)]),
    ("data name missing", {_DATA: {"value": "CASH"}}, [("MISSING", _NAME)]),
    ("data value empty", {_DATA: [{"name": "701", "value": ""}]}, [("MISSING", _VALUE)]),
    ("second value missing", {_DATA: [{"name": "7260", "value": "CASH"}, {"name": "701"}]},
     [("MISSING", _VALUE)]),
    ("two items broken", {_DATA: [{"name": "1"}, {"value": "x"}, {"name": "x", "value": "y"}]},
     [("MISSING", _NAME), ("FORMAT", _NAME), ("MISSING", _VALUE)]),
]  # fmt: skip

# (path, value): setting the one field at ``path`` keeps the request valid.
ACCEPTED = [
    (_REF, "09 A-b_c.d/e:f#g@h!'()*+=?[]`$%&^\"<>"),
    (_REF, "0" * 40),
    (_REF, "  09ABC \n"),
    ("proposal_id", "p" * 30),
    ("local_date_time", "1231000000"),
    ("local_date_time", "0229235959"),
    ("sender_account_uri", "ewallet:" + "a" * 192),
    ("sender_account_uri", "ban:106050018728;bic=900"),
    ("sender_account_uri", PAN),
    (_URI_R, "tel:+123456789012345"),
    (_URI_R, "ewallet:paypal_user011"),
    (_URI_R, "ewallet:abcdefgh.fghh;sp=transpay"),
    (_URI_R, "ban:45678993;bic=UNBECNSHXXX"),
    (_URI_R, "iban:CH9300762011623852957"),
    ("payment_amount.amount", "123456789012345.00"),
    ("payment_amount.amount", "18.000"),
    ("payment_amount.amount", "0.01"),
    ("payment_amount.currency", "EUR"),
    ("payment_origination_country", "KEN"),
    ("fx_type.forward.fees_included", "false"),
    ("fx_type.forward.fees_included", False),
    ("fx_type.forward.receiver_currency", "KES"),
    ("receiving_bank_name", "b" * 140),
    ("receiving_bank_name", "Banque Générale — Genève 銀行"),
    ("receiving_bank_branch_name", "b" * 140),
    ("bank_code", "c" * 225),
    ("source_of_income", "s" * 35),
    ("sender.first_name", "J" * 140),
    ("sender.middle_name", DELETE),
    ("sender.middle_name", ""),
    ("sender.last_name", "L" * 140),
    ("sender.nationality", "GBR"),
    ("sender.address", DELETE),
    ("sender.address.line1", "l" * 500),
    ("sender.address.line2", "l" * 500),
    ("sender.address.city", "c" * 35),
    ("sender.address.country_subdivision", "MO"),
    ("sender.address.country_subdivision", "s" * 35),
    ("sender.address.postal_code", "p" * 16),
    ("sender.government_ids", DELETE),
    *[(_GOV, f"{scheme}:AB-123") for scheme in sorted(GOVERNMENT_ID_SCHEMES)],
    (_GOV, "ppn:" + "1" * 80),
    (_GOV, "ppn:1;country=GBR;issue-date=2011-07-12"),
    ("sender.date_of_birth", "2000-02-29"),
    ("recipient.phone", "+" + "1" * 29),
    ("recipient.email", "a@b.c"),
    *[("purpose_of_payment", purpose) for purpose in sorted(PURPOSES_OF_PAYMENT)],
    ("payment_file_identifier", "f" * 35),
    ("card_rate_id", "r" * 35),
    (_DATA, [{"name": "12345", "value": "v" * 1000}]),
    ("unknown_member", {"x": 1}),
    ("sender.nickname", "JJ"),
    ("payment_amount.note", ["x"]),
]

# (id, changes): combinations that are valid.
ACCEPTED_TOGETHER = [
    ("ldt for pan", {_URI_R: PAN, **_PAN_OK}),
    ("pan with exp", {_URI_R: PAN + ";exp=2027-12", **_PAN_OK}),
    ("pan reverse", {_URI_R: PAN, "local_date_time": "0101120000",
                     "fx_type": {"reverse": {"sender_currency": "USD"}}}),
    ("reverse", {"fx_type": {"reverse": {"sender_currency": "EUR"}}}),
    ("three decimals", {"payment_amount": {"amount": "1.125", "currency": "KWD"}}),
    ("with proposal", {"proposal_id": "pen_1", "sender_account_uri": DELETE, _URI_R: DELETE,
                       "payment_amount": DELETE, "payment_origination_country": DELETE,
                       "payment_type": DELETE}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "kind", "value"),
    [pytest.param(*case, id=f"{case[0]}-{case[1]}-{n}") for n, case in enumerate(REFUSED)],
)
def test_field_rule_refuses(path: str, kind: str, value: object) -> None:
    assert problems(changed(JSON_BODY, {path: value})) == [(kind, path)]


@pytest.mark.parametrize(
    ("changes", "expected"), [pytest.param(c, e, id=i) for i, c, e in REFUSED_TOGETHER]
)
def test_rule_refuses(changes: dict[str, object], expected: list[tuple[str, str]]) -> None:
    assert problems(changed(JSON_BODY, changes)) == expected


@pytest.mark.parametrize(
    ("path", "value"),
    [pytest.param(*case, id=f"{case[0]}-{n}") for n, case in enumerate(ACCEPTED)],
)
def test_field_rule_accepts(path: str, value: object) -> None:
    assert problems(changed(JSON_BODY, {path: value})) == []


@pytest.mark.parametrize("changes", [pytest.param(c, id=i) for i, c in ACCEPTED_TOGETHER])
def test_rule_accepts(changes: dict[str, object]) -> None:
    assert problems(changed(JSON_BODY, changes)) == []


# --- name rules by payment type ------------------------------------------------------------------

PERSON = {"first_name": "Ann", "middle_name": "B", "last_name": "Lee"}
ORGANIZATION = {"organization_name": "Acme Ltd"}
SENDER_IS_PERSON = {"P2P": True, "P2B": True, "B2P": False, "B2B": False, "G2P": False}
RECIPIENT_IS_PERSON = {"P2P": True, "P2B": False, "B2P": True, "B2B": False, "G2P": True}


def party_body(payment_type: str, sender_person: bool, recipient_person: bool) -> dict[str, Any]:
    body = changed(JSON_BODY, {"payment_type": payment_type})
    for party, person in (("sender", sender_person), ("recipient", recipient_person)):
        for name in (*PERSON, *ORGANIZATION):
            body[party].pop(name, None)
        body[party].update(PERSON if person else ORGANIZATION)
    return body


def misfit(party: str, should_be_person: bool) -> list[tuple[str, str]]:
    if should_be_person:
        return [
            ("MISSING", f"{party}.first_name"),
            ("MISSING", f"{party}.last_name"),
            ("VALUE", f"{party}.organization_name"),
        ]
    return [
        ("VALUE", f"{party}.first_name"),
        ("VALUE", f"{party}.middle_name"),
        ("VALUE", f"{party}.last_name"),
        ("MISSING", f"{party}.organization_name"),
    ]


@pytest.mark.parametrize("payment_type", sorted(SENDER_IS_PERSON))
def test_names_that_fit_the_payment_type_pass(payment_type: str) -> None:
    body = party_body(
        payment_type, SENDER_IS_PERSON[payment_type], RECIPIENT_IS_PERSON[payment_type]
    )
    assert problems(body) == []


@pytest.mark.parametrize("payment_type", sorted(SENDER_IS_PERSON))
def test_names_that_do_not_fit_the_payment_type_fail(payment_type: str) -> None:
    sender, recipient = SENDER_IS_PERSON[payment_type], RECIPIENT_IS_PERSON[payment_type]
    body = party_body(payment_type, not sender, not recipient)
    assert problems(body) == misfit("sender", sender) + misfit("recipient", recipient)


def test_without_a_payment_type_any_names_are_accepted() -> None:
    body = party_body("P2P", sender_person=False, recipient_person=True)
    body.update(payment_type="", proposal_id="pen_4000")
    assert problems(body) == []


# --- whole-body behaviour ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, [("MISSING", ROOT)]),
        ([], [("FORMAT", ROOT)]),
        ("text", [("FORMAT", ROOT)]),
        (42, [("FORMAT", ROOT)]),
    ],
)
def test_a_body_that_is_not_an_object(body: object, expected: list[tuple[str, str]]) -> None:
    assert problems(body) == expected


@pytest.mark.parametrize("body", [{}, ""])
def test_an_empty_body_lists_every_required_field(body: object) -> None:
    assert problems(body) == [
        ("MISSING", "transaction_reference"),
        ("MISSING", "sender_account_uri"),
        ("MISSING", "recipient_account_uri"),
        ("MISSING", "payment_amount"),
        ("MISSING", "payment_origination_country"),
        ("MISSING", "payment_type"),
    ]


def test_every_problem_is_collected_in_field_order() -> None:
    body = changed(
        JSON_BODY,
        {
            "additional_data.data_field": [{"name": "x"}],
            "recipient": "nobody",
            "sender.organization_name": "Acme",
            "payment_type": "P2P",
            "payment_amount.currency": "usd",
            "transaction_reference": "a;b",
            "sender.government_ids": [
                {"government_id_uri": "zzz:1"},
                {"government_id_uri": "ppn:"},
            ],
        },
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_payment_request(body)
    assert caught.value.problems == (
        FieldProblem(ProblemKind.FORMAT, "transaction_reference"),
        FieldProblem(ProblemKind.VALUE, "payment_amount.currency"),
        FieldProblem(ProblemKind.VALUE, "sender.organization_name"),
        FieldProblem(ProblemKind.VALUE, "sender.government_ids.government_id_uri"),
        FieldProblem(ProblemKind.FORMAT, "sender.government_ids.government_id_uri"),
        FieldProblem(ProblemKind.FORMAT, "recipient"),
        FieldProblem(ProblemKind.FORMAT, "additional_data.data_field.name"),
        FieldProblem(ProblemKind.MISSING, "additional_data.data_field.value"),
    )
    assert caught.value.code == "082000"


def test_rule_table_covers_every_field() -> None:
    paths = set(_POSITION)
    leaves = {p for p in paths if not any(other.startswith(p + ".") for other in paths)}
    ruled = {rule.path for rule in _RULES}
    assert ruled <= paths
    assert leaves <= ruled


# --- properties -----------------------------------------------------------------------------------


def _government_ids_variant(uris: list[str], rnd: random.Random) -> object:
    forms: list[object] = [
        {"government_id_uri": uris},
        [{"government_id_uri": uri} for uri in uris],
    ]
    if len(uris) == 1:
        forms.append({"government_id_uri": uris[0]})
    return rnd.choice(forms)


def _scramble(node: object, rnd: random.Random) -> object:
    """Same payload, other layout: member order, XML whitespace, unknown members."""
    if isinstance(node, dict):
        items = list(node.items())
        rnd.shuffle(items)
        out = {name: _scramble(value, rnd) for name, value in items}
        if rnd.random() < 0.2:
            out["x_unknown"] = "ignored"
        return out
    if isinstance(node, list):
        return [_scramble(item, rnd) for item in node]
    if isinstance(node, str):
        return rnd.choice(["", " ", "\n    "]) + node + rnd.choice(["", "\n", "\t"])
    return node


def equivalent_body(rnd: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(JSON_BODY)
    body["fx_type"]["forward"]["fees_included"] = rnd.choice([True, "true"])
    body["sender"]["government_ids"] = _government_ids_variant([GOV_SENDER], rnd)
    recipient_ids = [GOV_RECIPIENT_1, GOV_RECIPIENT_2]
    body["recipient"]["government_ids"] = _government_ids_variant(recipient_ids, rnd)
    body["payment_amount"]["amount"] = rnd.choice(["18", "18.0", "18.00", "018.000"])
    scrambled = _scramble(body, rnd)
    assert isinstance(scrambled, dict)
    return scrambled


@given(rnd=st.randoms(use_true_random=False))
def test_equivalent_layouts_give_the_same_wire_and_fingerprint(rnd: random.Random) -> None:
    request = parse_payment_request(equivalent_body(rnd))
    assert request.wire == EXPECTED_WIRE
    assert request.fingerprint() == parse_payment_request(JSON_BODY).fingerprint()
    assert parse_payment_request(request.wire) == request


REFERENCE_ALPHABET = "".join(ch for ch in map(chr, range(32, 127)) if ch not in "{}|~\\,;")


@given(reference=st.text(alphabet=REFERENCE_ALPHABET, min_size=1, max_size=40))
def test_any_allowed_reference_is_kept(reference: str) -> None:
    stripped = reference.strip(" ")
    body = changed(JSON_BODY, {"transaction_reference": reference})
    if stripped:
        assert parse_payment_request(body).transaction_reference == stripped
    else:
        assert problems(body) == [("MISSING", "transaction_reference")]


@given(
    reference=st.text(alphabet=string.ascii_letters, min_size=1, max_size=30),
    bad=st.sampled_from("{}|~\\,;\x00\x1f\x7f"),
    at=st.integers(min_value=0, max_value=30),
)
def test_a_forbidden_reference_character_is_a_format_problem(
    reference: str, bad: str, at: int
) -> None:
    body = changed(JSON_BODY, {"transaction_reference": reference[:at] + bad + reference[at:]})
    assert problems(body) == [("FORMAT", "transaction_reference")]


_NAMES = st.sampled_from(
    [
        "transaction_reference",
        "proposal_id",
        "sender_account_uri",
        "recipient_account_uri",
        "payment_amount",
        "amount",
        "currency",
        "fx_type",
        "forward",
        "reverse",
        "fees_included",
        "payment_type",
        "sender",
        "recipient",
        "first_name",
        "organization_name",
        "address",
        "country",
        "government_ids",
        "government_id_uri",
        "additional_data",
        "data_field",
        "name",
        "value",
        "local_date_time",
        "card_rate_id",
    ]
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "P2P",
            "B2B",
            PAN,
            "tel:+254108989",
            "USD",
            "USA",
            "18.00",
            "true",
            "",
            "pen_1",
            "0101120000",
        ]
    )
)
_TREES = st.recursive(
    _LEAVES,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_NAMES, kids, max_size=6),
    max_leaves=30,
)


@given(body=_TREES)
def test_any_decoded_body_parses_or_fails_with_known_sources(body: object) -> None:
    try:
        request = parse_payment_request(body)
    except ValidationFailed as exc:
        assert exc.problems
        assert all(p.source == ROOT or p.source in _POSITION for p in exc.problems)
    else:
        assert isinstance(request, PaymentRequest)
        assert parse_payment_request(request.wire) == request
