"""The OpenAPI description (D21): valid OpenAPI 3.1, in step with the routers, the error
table, the cancel rule and the real bodies (no server, no database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from xborder.api import admin, problems, routes
from xborder.api.codecs import JSON, XML
from xborder.api.errors import ERROR_TABLE
from xborder.api.oauth2 import oauth2_routes
from xborder.api.openapi import openapi_document
from xborder.api.openapi_admin import OPERATIONS
from xborder.api.openapi_examples import sample_payment
from xborder.api.openapi_http import openapi_routes
from xborder.api.schemas import payment_view
from xborder.config import Settings
from xborder.domain.codes import rejection_for
from xborder.domain.errors import ValidationFailed
from xborder.domain.states import PaymentStatus, PendingStage

GOLDEN = Path(__file__).parent.parent / "fixtures" / "golden"
DOCUMENT = openapi_document(admin_api=True)
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
SERVICE_PATHS = {"/health", *(route.path for route in openapi_routes(Settings()))}  # type: ignore[attr-defined]
OAUTH2_PATHS = {route.path for route in oauth2_routes(None, None)}  # type: ignore[arg-type,attr-defined]
OWN_PATHS = SERVICE_PATHS | OAUTH2_PATHS  # D23's authorization server is not XBS
SAMPLE_SEGMENTS = {"partner-id": "PARTNER_1", "payment-id": "rem_abc", "account-id": "acct_1"}


def schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in DOCUMENT."""
    return Draft202012Validator({**schema, "components": DOCUMENT["components"]})


def component(name: str) -> Draft202012Validator:
    return schema_validator({"$ref": f"#/components/schemas/{name}"})


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


# --- valid OpenAPI 3.1 ----------------------------------------------------------------------


@pytest.mark.parametrize("admin_api", [True, False])
def test_document_is_valid_openapi_3_1(admin_api: bool) -> None:
    document = openapi_document(admin_api=admin_api)
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_admin_paths_follow_the_settings() -> None:
    def admin_paths(document: dict[str, Any]) -> list[str]:
        return [p for p in document["paths"] if p.startswith(admin.PREFIX)]

    assert admin_paths(openapi_document(Settings()))  # on by default (D17)
    assert not admin_paths(openapi_document(Settings(deployment="production")))
    assert admin_paths(openapi_document(Settings(deployment="production", admin=True)))


def test_public_url_is_the_server() -> None:
    document = openapi_document(Settings(public_url="https://xbs.example.com/api"))
    assert document["servers"] == [{"url": "https://xbs.example.com/api"}]


def test_oauth1_is_an_authorization_header_scheme() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["oauth1"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "RSA-SHA256" in scheme["description"] and "oauth_body_hash" in scheme["description"]
    assert DOCUMENT["security"] == [{"oauth1": []}]
    for path in SERVICE_PATHS:
        assert DOCUMENT["paths"][path]["get"]["security"] == []


# --- drift: the routers and the description --------------------------------------------------


def concrete(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: SAMPLE_SEGMENTS[m.group(1)], template)


def answered(path: str, method: str) -> str | None:
    """The handler :func:`routes.match` picks, or None when it refuses the method."""
    query = b"ref=R1" if path.endswith("/crossborder") else b""
    try:
        return routes.match(concrete(path).encode(), method, query).name
    except problems.MethodNotAllowed:
        return None


TABLE = {(method, path): name for name, method, path in routes.ENDPOINTS}


def test_every_handler_is_in_the_route_table() -> None:
    assert {name for name, _m, _p in routes.ENDPOINTS} == set(routes._HANDLERS)


@pytest.mark.parametrize("path", sorted({path for _m, path in TABLE}))
def test_route_table_is_what_the_router_answers(path: str) -> None:
    """Each method of a table path goes to the table's handler; HEAD rides with GET except
    on cancel (D19); every other method is 405."""
    for method in METHODS:
        expected = TABLE.get((method, path))
        if method == "HEAD" and expected is None and TABLE.get(("GET", path)) != "cancel":
            expected = TABLE.get(("GET", path))
        if path.endswith("/payment") and method in ("GET", "HEAD"):
            expected = "get"  # GET .../payment retrieves a payment whose id is "payment"
        assert answered(path, method) == expected, (method, path)


def test_description_has_exactly_the_routed_operations() -> None:
    described = {(m, p) for m, p, _o in operations(DOCUMENT) if p not in OWN_PATHS}
    admin_routes = {(m, admin.PREFIX + p) for m, p, _h in admin.ROUTES}
    admin_routes.add(("GET", admin.PREFIX + admin.STREAM))  # Server-Sent Events (issue 14)
    admin_routes.add(("GET", "/metrics"))  # behind the admin token (issue 14)
    assert described == set(TABLE) | admin_routes


def test_admin_router_is_described() -> None:
    services = admin.AdminServices(None, None, None, None, clock_controllable=False, write=None)  # type: ignore[arg-type]
    router = admin.admin_app(services)
    served = {
        (method, admin.PREFIX + route.path)  # type: ignore[attr-defined]
        for route in router.routes
        for method in route.methods - {"HEAD"}  # type: ignore[attr-defined]
    }
    described = {(m, p) for m, p, _o in operations(DOCUMENT) if p.startswith(admin.PREFIX)}
    assert served == described
    assert set(OPERATIONS) == {(m, p) for m, p, _h in admin.ROUTES}


# --- errors: from the one error table ---------------------------------------------------------


def described_error_classes() -> set[type[BaseException]]:
    from xborder.api import openapi_errors

    samples = [
        sample
        for name in dir(openapi_errors)
        if name.isupper() and isinstance(getattr(openapi_errors, name), tuple)
        for sample in getattr(openapi_errors, name)
    ]
    samples += [openapi_errors.CLOCK_REFUSED]
    samples += [sample for operation in OPERATIONS.values() for sample in operation.samples]
    return {type(sample) for sample in samples}


def test_every_class_of_the_error_table_is_described() -> None:
    assert set(ERROR_TABLE) <= described_error_classes()


EXPECTED_STATUSES = {
    # D6, D7, D8, D9, D11, D12, D21 restated: what each operation can answer besides 200
    "createPayment": {400, 401, 402, 403, 404, 405, 406, 409, 413, 415, 500},
    "retrievePayment": {400, 401, 403, 404, 405, 406, 413, 500},
    "findPayment": {400, 401, 403, 404, 405, 406, 413, 500},
    "cancelPaymentPost": {400, 401, 402, 403, 404, 405, 406, 413, 415, 500},
    "cancelPaymentGet": {400, 401, 402, 403, 404, 405, 406, 413, 415, 500},
    "listAccounts": {400, 401, 402, 403, 405, 406, 413, 500},
    "getAccount": {400, 401, 402, 403, 404, 405, 406, 413, 500},
}


@pytest.mark.parametrize(("operation_id", "statuses"), EXPECTED_STATUSES.items())
def test_error_statuses_of_each_operation(operation_id: str, statuses: set[int]) -> None:
    (operation,) = [o for _m, _p, o in operations(DOCUMENT) if o["operationId"] == operation_id]
    errors = {int(s) for s in operation["responses"] if s != "200"}
    assert errors == statuses


def test_cancel_describes_the_d21_refusal() -> None:
    responses = DOCUMENT["paths"][routes.BASE + "/{payment-id}/cancel"]["post"]["responses"]
    examples = responses["400"]["content"]["application/json"]["examples"].values()
    sources = {e["value"]["Errors"]["Error"]["Source"] for e in examples}
    assert "cancelpaymentrequest" in sources
    assert responses["405"]["headers"]["Allow"]
    assert "x-encrypted" in responses["200"]["headers"]


SIGNED = {"createPayment", "retrievePayment", "findPayment", "cancelPaymentPost"}
SIGNED |= {"cancelPaymentGet", "listAccounts", "getAccount"}


@pytest.mark.parametrize("operation_id", sorted(SIGNED))
def test_signed_operations_describe_both_encrypted_payload_errors(operation_id: str) -> None:
    """D12's 062000 and D20's (a required project's plaintext body) share ReasonCode, code and
    Source: both examples are kept, told apart by their Description."""
    (operation,) = [o for _m, _p, o in operations(DOCUMENT) if o["operationId"] == operation_id]
    examples = operation["responses"]["400"]["content"]["application/json"]["examples"]
    errors = [e["value"]["Errors"]["Error"] for e in examples.values()]
    descriptions = {
        e["Description"]
        for e in errors
        if isinstance(e, dict) and e["Source"] == "Encrypted Payload"  # a list: field errors
    }
    assert descriptions == {"Value contains invalid character", "Request payload must be encrypted"}


def test_every_error_example_is_an_errors_envelope() -> None:
    json_envelope = component("Errors")
    for _m, _p, operation in operations(DOCUMENT):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status == "200" or "application/json" not in content:
                continue
            for example in content["application/json"].get("examples", {}).values():
                json_envelope.validate(example["value"])
            for example in content.get("application/xml", {}).get("examples", {}).values():
                assert list(XML.decode(example["value"].encode())) == ["Errors"]


# --- D21: the cancel request the server accepts is the one described --------------------------

CANCEL_VALUES: list[tuple[Any, bool]] = [
    ("", True),
    (" \n\t", True),
    (None, True),
    ({}, True),
    ({"additional_data": {"data_field": [{"name": "1200", "value": "PHL-BK"}]}}, True),
    ({"reason": "asked", "flags": ["1", True, None]}, True),
    ("5", False),  # a JSON number arrives as its text
    ("cancel it", False),
    (True, False),
    (False, False),
    ([], False),
    ([{}], False),
]


@pytest.mark.parametrize(("value", "accepted"), CANCEL_VALUES)
def test_cancel_rule_and_description_agree(value: Any, accepted: bool) -> None:
    try:
        routes.check_cancel_request(value)
        served = True
    except ValidationFailed:
        served = False
    assert served is accepted
    assert component("CancelPaymentRequest").is_valid(value) is accepted


@pytest.mark.parametrize(
    ("document", "accepted"),
    [
        ({"cancelpaymentrequest": ""}, True),
        ({"TransactionReference": None, "additional_data": None}, True),
        ({}, True),
        ({"cancelpaymentrequest": "5"}, False),
        ({"cancelpaymentrequest": []}, False),
    ],
)
def test_cancel_json_body(document: dict[str, Any], accepted: bool) -> None:
    assert component("CancelPaymentRequestJson").is_valid(document) is accepted


# --- examples and real bodies -----------------------------------------------------------------


def media_examples() -> Iterator[tuple[str, str, dict[str, Any], Any]]:
    for method, path, operation in operations(DOCUMENT):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            for media, content in body.get("content", {}).items():
                for example in content.get("examples", {}).values():
                    yield f"{method} {path}", media, content["schema"], example["value"]


def test_json_examples_match_their_schemas() -> None:
    checked = 0
    for where, media, schema, value in media_examples():
        if media == "application/json":
            errors = [e.message for e in schema_validator(schema).iter_errors(value)]
            assert not errors, (where, errors)
            checked += 1
    assert checked > 20


def test_xml_examples_have_the_schemas_root_element() -> None:
    names = {
        f"#/components/schemas/{n}": s["xml"]["name"]
        for n, s in DOCUMENT["components"]["schemas"].items()
        if "xml" in s
    }
    for where, media, schema, value in media_examples():
        if media == "application/xml":
            first = schema.get("anyOf", [schema])[0]["$ref"]
            assert list(XML.decode(value.encode())) == [names[first]], where


def test_cancel_examples_are_the_pages() -> None:
    cancel = DOCUMENT["paths"][routes.BASE + "/{payment-id}/cancel"]["post"]
    request = cancel["requestBody"]["content"]["application/json"]["examples"]
    answer = cancel["responses"]["200"]["content"]["application/json"]["examples"]
    assert request["page"]["value"] == {"cancelpaymentrequest": ""}
    assert answer["success"]["value"] == {"cancelpayment": {"status": "SUCCESS"}}
    xml = cancel["responses"]["200"]["content"]["application/xml"]["examples"]["success"]
    assert XML.decode(xml["value"].encode()) == {"cancelpayment": {"status": "SUCCESS"}}


# Every request sample must be accepted as described. Of the answers, those whose shape
# xborder reproduces: not Mastercard's samples of other APIs (quotes, bank lookup) or with
# numbers and booleans where xborder writes text, nor payment_response_pending.json, whose
# blank currencies xborder leaves out (D10).
GOLDEN_ERRORS = (
    "errors_decline_130118.json",
    "errors_encryption_062000.json",
    "errors_missing_input_092000.json",
    "errors_not_found_110507.json",
    "errors_system_150001.json",
    "errors_validation_two_errors.json",
)
GOLDEN_SCHEMAS = [
    ("cancel_request.json", "CancelPaymentRequestJson"),
    ("ref_client_cancel_request.json", "CancelPaymentRequestJson"),
    ("cancel_response.json", "CancelPaymentDocument"),
    *((p.name, "PaymentRequestDocument") for p in sorted(GOLDEN.glob("*payment_request*.json"))),
    ("payment_response_bankwire.json", "PaymentDocument"),
    ("payment_response_success.json", "PaymentDocument"),
    *((p.name, "PaymentDocument") for p in sorted(GOLDEN.glob("retrieve_*.json"))),
    *((name, "Errors") for name in GOLDEN_ERRORS),
]


@pytest.mark.parametrize(("name", "schema"), GOLDEN_SCHEMAS)
def test_golden_json_bodies_match_the_description(name: str, schema: str) -> None:
    document = JSON.decode((GOLDEN / name).read_bytes())
    errors = [f"{list(e.path)}: {e.message}" for e in component(schema).iter_errors(document)]
    assert not errors, errors


XML_SCHEMAS = {
    "paymentrequest": "PaymentRequest",
    "payment": "Payment",
    "cancelpaymentrequest": "CancelPaymentRequest",
    "cancelpayment": "CancelPayment",
    "Errors": "ErrorsXml",
}
GOLDEN_XML = [
    *(p.name for p in sorted(GOLDEN.glob("*request*.xml"))),
    "cancel_response.xml",
    *(p.name for p in sorted(GOLDEN.glob("retrieve_*.xml"))),
    "payment_response_bankwire.xml",
    "payment_response_success.xml",
    *(
        name.replace(".json", ".xml")
        for name in GOLDEN_ERRORS
        if name != "errors_encryption_062000.json"
    ),
]


@pytest.mark.parametrize("name", GOLDEN_XML)
def test_golden_xml_bodies_match_the_description(name: str) -> None:
    """The XML samples, read by the XML codec, against the schema of their root element."""
    ((root, value),) = XML.decode((GOLDEN / name).read_bytes()).items()
    if root == "Errors" and isinstance(value["Error"], dict):
        value = {"Error": [value["Error"]]}  # one repeated element reads as an object
    errors = [
        f"{list(e.path)}: {e.message}" for e in component(XML_SCHEMAS[root]).iter_errors(value)
    ]
    assert not errors, errors


def payment_views() -> Iterator[dict[str, Any]]:
    sample = sample_payment()
    more = {
        "proposal_id": "pr_1",
        "payment_file_identifier": "file1",
        "card_rate_id": "rate1",
        "additional_data": {"data_field": [{"name": "810", "value": "123"}]},
        "bank_code": "NP021",
    }
    full = replace(sample, request={**sample.request, **more})
    yield payment_view(replace(full, cashout_code="123456"))
    for stage in PendingStage:
        yield payment_view(replace(full, pending_stage=stage), retrieve=True)
    rejection = rejection_for("130101")
    for status in (PaymentStatus.REJECTED, PaymentStatus.RETURNED):
        yield payment_view(
            replace(full, status=status, rejection=rejection, return_message="returned"),
            retrieve=True,
        )


def test_payment_schema_covers_every_member_the_view_writes() -> None:
    schema = DOCUMENT["components"]["schemas"]["Payment"]
    for view in payment_views():
        assert set(view["payment"]) <= set(schema["properties"]), view
        component("PaymentDocument").validate(JSON.decode(JSON.encode(view)))
