"""What the contract fuzzer (tests/contract) found, each held here without the fuzzer (D21):
the server answers what its description says, and refuses what the description does not
allow with 400 INVALID_INPUT_VALUE 082000 naming the element."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.fakes import OpenGate
from xborder.api.app import create_app
from xborder.api.codecs import XML
from xborder.api.openapi import openapi_document
from xborder.api.payload_encryption import wants_encryption
from xborder.config import Settings

TOKEN = "fuzz-findings-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BALANCE = "/send/partners/SANDBOX_BAL/crossborder/accounts"


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    configured = settings.replace(admin_token=TOKEN, scheduler=False)
    app = create_app(configured, engine=engine, gate=OpenGate())
    with TestClient(app, base_url="http://testserver") as http:
        yield http


def refusal(response: Any) -> tuple[int, str, str, str]:
    """Status, ReasonCode, ErrorDetailCode and Source of a one-error JSON envelope."""
    assert response.headers["content-type"] == "application/json", response.text
    error = response.json()["Errors"]["Error"]
    code = error["Details"]["Detail"]["Value"] if error["Details"] else ""
    return response.status_code, error["ReasonCode"], code, error["Source"]


@pytest.mark.parametrize(
    "query",
    [
        "after=140176633580401910602",  # past 64 bits: was a 500 from the database
        "limit=99999999999999999999",
        "after=%C2%B2",  # "²" passes str.isdigit() and fails int(): was a 500
        "after=",
    ],
)
def test_admin_event_counters_the_database_cannot_hold_are_refused(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/admin/v1/events?{query}", headers=AUTH)
    name = query.partition("=")[0]
    assert refusal(response) == (400, "INVALID_INPUT_VALUE", "082000", name)


def test_admin_event_counters_as_long_as_described_are_served(client: TestClient) -> None:
    response = client.get(f"/admin/v1/events?after={'9' * 18}&limit={'9' * 18}", headers=AUTH)
    assert response.status_code == 200 and response.json() == {"events": []}
    parameters = openapi_document(admin_api=True)["paths"]["/admin/v1/events"]["get"]
    after = next(p for p in parameters["parameters"] if p["name"] == "after")
    assert after["schema"]["pattern"] == "^[0-9]{1,18}$"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/v1/partners/A%0AB/payments/rem_x/settle",  # Starlette's mount stops at "\n"
        "/admin/v1/partners/P1/payments/rem_x/nothing",
        "/no/such/path",
    ],
)
def test_unrouted_paths_are_404_in_the_errors_envelope(client: TestClient, path: str) -> None:
    response = client.post(path, headers=AUTH)
    assert refusal(response)[0] == 404
    assert refusal(response)[3] == "path"


def test_admin_operations_describe_their_404() -> None:
    paths = openapi_document(admin_api=True)["paths"]
    for path, item in paths.items():
        if path.startswith("/admin/"):
            for operation in item.values():
                assert "404" in operation["responses"], path


@pytest.mark.parametrize(
    "path",
    [
        "/send/partners/bad%20partner/crossborder/accounts",  # InvalidPartnerId, in routing
        "/send/partners/P1/crossborder/accounts/a/b",  # UnknownRoute, in routing
        BALANCE + "?include_balance=maybe",  # ValidationFailed, in routing
    ],
)
def test_balance_api_answers_routing_errors_in_json_too(client: TestClient, path: str) -> None:
    """The Balance API is described as JSON only; its routing errors used to follow Accept."""
    response = client.get(path, headers={"Accept": "application/xml"})
    assert response.status_code in (400, 404)
    assert refusal(response)[0] == response.status_code


def test_blank_include_balance_is_refused(client: TestClient) -> None:
    """The description's pattern does not allow an empty value; it used to read as false."""
    response = client.get(BALANCE + "?include_balance=")
    assert refusal(response) == (400, "INVALID_INPUT_VALUE", "082000", "include_balance")
    assert client.get(BALANCE).status_code == 200  # absent: the default, false


@pytest.mark.parametrize("value", ["", "2i@", "yes", " TRUE "])
def test_x_encrypted_is_described_as_the_server_reads_it(value: str) -> None:
    """Any value is accepted; only `true` (any case, trimmed) asks for encryption. The
    description used to allow only "true" and "false" while the server took anything."""
    parameter = openapi_document()["components"]["parameters"]["x-encrypted"]
    assert parameter["schema"] == {"type": "string"}
    assert wants_encryption({"x-encrypted": value}) is (value.strip().lower() == "true")


@pytest.fixture
def controllable(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    configured = settings.replace(admin_token=TOKEN, scheduler=False, clock="controllable")
    app = create_app(configured, engine=engine, gate=OpenGate())
    with TestClient(app, base_url="http://testserver") as http:
        yield http


@pytest.mark.parametrize(
    "seconds",
    [
        "NaN",  # Decimal("NaN"), then timedelta(): was a 500
        "Infinity",
        "99999999999999999",  # past timedelta's range: was a 500
        "1e3",
        "1_000",
        " 60",
        60.5,  # the description said "number"; the server always refused floats
        10**30,
    ],
)
def test_clock_advance_takes_only_the_described_decimals(
    controllable: TestClient, seconds: Any
) -> None:
    response = controllable.post("/admin/v1/clock/advance", json={"seconds": seconds}, headers=AUTH)
    assert refusal(response) == (400, "INVALID_INPUT_VALUE", "082000", "seconds")


@pytest.mark.parametrize("seconds", ["60", 60, "0.5"])
def test_clock_advance_takes_decimals_as_text_or_whole_numbers(
    controllable: TestClient, seconds: Any
) -> None:
    response = controllable.post("/admin/v1/clock/advance", json={"seconds": seconds}, headers=AUTH)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("amount", ["NaN", "-Infinity", "1e2", 12.5])
def test_fund_takes_only_the_described_decimals(client: TestClient, amount: Any) -> None:
    response = client.post(
        "/admin/v1/partners/MTF_P/accounts/USD/fund", json={"amount": amount}, headers=AUTH
    )
    assert refusal(response) == (400, "INVALID_INPUT_VALUE", "082000", "amount")


def test_admin_decimals_are_described_as_read() -> None:
    paths = openapi_document(admin_api=True)["paths"]
    body = paths["/admin/v1/clock/advance"]["post"]["requestBody"]["content"]["application/json"]
    seconds = body["schema"]["properties"]["seconds"]
    assert seconds["type"] == ["string", "integer"]
    assert seconds["pattern"] == "^-?[0-9]{1,18}(\\.[0-9]{1,18})?$"


def test_fund_of_a_sandbox_partner_is_a_described_409(client: TestClient) -> None:
    response = client.post(
        "/admin/v1/partners/SANDBOX_P/accounts/USD/fund", json={"amount": "10"}, headers=AUTH
    )
    assert refusal(response)[0] == 409
    fund = openapi_document(admin_api=True)["paths"][
        "/admin/v1/partners/{partner_id}/accounts/{currency}/fund"
    ]["post"]
    assert "409" in fund["responses"]


def test_xml_errors_without_request_id_match_the_description(
    settings: Settings, engine: Engine
) -> None:
    """XML leaves out null members: a gateway error (D11) has no RequestId and no Details,
    and the description required both (it now has an XML Error schema of its own)."""
    app = create_app(settings.replace(auth=True, scheduler=False), engine=engine)
    with TestClient(app, base_url="http://testserver") as signed:
        response = signed.get(
            "/send/v1/partners/P1/crossborder/rem_x", headers={"Accept": "application/xml"}
        )
    assert response.status_code == 400
    error = XML.decode(response.content)["Errors"]["Error"]
    assert "RequestId" not in error and "Details" not in error
    schemas = openapi_document()["components"]["schemas"]
    item = schemas["ErrorsXml"]["properties"]["Error"]["items"]["$ref"].rsplit("/", 1)[1]
    jsonschema.validate(error, schemas[item])


@pytest.mark.parametrize("secret", [None, 7, ["s"]])
def test_a_webhook_secret_other_than_a_string_is_refused(client: TestClient, secret: Any) -> None:
    """The description allows a string or no member; ``null`` was taken as "no secret"."""
    body = {"url": "https://partner.invalid/hook", "secret": secret}
    response = client.put("/admin/v1/partners/FUZZ_PARTNER/webhook", json=body, headers=AUTH)
    assert refusal(response) == (400, "INVALID_INPUT_VALUE", "082000", "secret")
    listed = client.get("/admin/v1/webhooks", headers=AUTH).json()["webhooks"]
    assert listed == []  # nothing registered


def test_a_webhook_without_a_secret_is_unsigned(client: TestClient) -> None:
    body = {"url": "https://partner.invalid/hook"}
    response = client.put("/admin/v1/partners/FUZZ_PARTNER/webhook", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["signed"] is False
