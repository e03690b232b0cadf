"""What the contract fuzzer (tests/contract) found, each held here without the fuzzer (D21):
the server answers what its description says, and refuses what the description does not
allow with 400 INVALID_INPUT_VALUE 082000 naming the element."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from xborder.api.app import create_app
from xborder.api.gate import OpenGate
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
