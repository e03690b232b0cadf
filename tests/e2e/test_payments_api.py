"""Create -> retrieve (id, reference) -> cancel (POST, GET, id, reference) -> retrieve, in JSON
and XML, through the in-process app."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.payloads import decode, encode, path, payment_request

FORMATS = ("json", "xml")


def create(
    client: TestClient, fmt: str, reference: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    content, headers = encode({"paymentrequest": payment_request(reference, **kwargs)}, fmt)
    response = client.post(path("/payment"), content=content, headers=headers)
    return response.status_code, decode(response.content, fmt)


def get(client: TestClient, fmt: str, suffix: str) -> tuple[int, dict[str, Any]]:
    accept = "application/json" if fmt == "json" else "application/xml"
    response = client.get(path(suffix), headers={"Accept": accept})
    return response.status_code, decode(response.content, fmt)


def cancel(
    client: TestClient, fmt: str, key: str, method: str = "POST"
) -> tuple[int, dict[str, Any]]:
    content, headers = encode({"cancelpaymentrequest": ""}, fmt)
    if method == "GET":
        response = client.get(path(f"/{key}/cancel"), headers={"Accept": headers["Accept"]})
    else:
        response = client.post(path(f"/{key}/cancel"), content=content, headers=headers)
    return response.status_code, decode(response.content, fmt)


def error_of(document: dict[str, Any]) -> dict[str, Any]:
    error = document["Errors"]["Error"]
    assert isinstance(error, dict), error
    return error


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("method", "by"), [("POST", "id"), ("GET", "id"), ("POST", "ref"), ("GET", "ref")]
)
def test_full_lifecycle(client: TestClient, fmt: str, method: str, by: str) -> None:
    reference = f"LIFE-{fmt}-{method}-{by}"
    status, created = create(client, fmt, reference)
    assert status == 200, created
    payment = created["payment"]
    assert payment["status"] == "PENDING"
    assert payment["pending_stage"] == "Processing"
    assert payment["id"].startswith("rem_") and len(payment["id"]) == 31
    assert payment["resource_type"] == "payment"

    assert get(client, fmt, f"/{payment['id']}")[1]["payment"]["status"] == "PENDING"
    assert get(client, fmt, f"?ref={reference}")[1]["payment"]["id"] == payment["id"]

    key = payment["id"] if by == "id" else reference
    status, answer = cancel(client, fmt, key, method)
    assert (status, answer) == (200, {"cancelpayment": {"status": "SUCCESS"}})

    for suffix in (f"/{payment['id']}", f"?ref={reference}"):
        status, retrieved = get(client, fmt, suffix)
        assert status == 200
        assert retrieved["payment"]["status"] == "CANCELLED"
        assert "pending_stage" not in retrieved["payment"]
        assert "pending_max_completion_date" not in retrieved["payment"]

    status, again = cancel(client, fmt, key, method)
    assert status == 402
    error = error_of(again)
    assert error["ReasonCode"] == "DECLINE"
    assert error["Details"]["Detail"]["Value"] == "130111"
    assert error["Source"] == "CancelPayment"


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_payment(client: TestClient, fmt: str) -> None:
    status, answer = cancel(client, fmt, "rem_doesnotexist")
    assert status == 404
    error = error_of(answer)
    assert (error["ReasonCode"], error["Description"], error["Source"]) == (
        "RESOURCE_UNKNOWN",
        "Record Not Found",
        "CancelPayment",
    )
    status, answer = get(client, fmt, "/rem_doesnotexist")
    assert status == 404 and error_of(answer)["Source"] == "GetPayment"
    status, answer = get(client, fmt, "?ref=NOPE")
    assert status == 404 and error_of(answer)["Details"]["Detail"]["Value"] == "110507"


@pytest.mark.parametrize("fmt", FORMATS)
def test_other_partners_payment_is_not_revealed(client: TestClient, fmt: str) -> None:
    _, created = create(client, fmt, "OWNED-1")
    payment_id = created["payment"]["id"]
    content, headers = encode({"cancelpaymentrequest": ""}, fmt)
    response = client.post(
        path(f"/{payment_id}/cancel", partner="OTHER_PARTNER"), content=content, headers=headers
    )
    assert response.status_code == 404
    assert error_of(decode(response.content, fmt))["Description"] == "Record Not Found"
    response = client.get(
        path(f"/{payment_id}", partner="OTHER_PARTNER"), headers={"Accept": headers["Accept"]}
    )
    assert response.status_code == 404


def test_reference_with_reserved_characters(client: TestClient) -> None:
    reference = "A/B?C#D"
    status, created = create(client, "json", reference)
    assert status == 200, created
    status, _ = get(client, "json", "?ref=A%2FB%3FC%23D")
    assert status == 200
    status, answer = cancel(client, "json", "A%2FB%3FC%23D")
    assert (status, answer) == (200, {"cancelpayment": {"status": "SUCCESS"}})


@pytest.mark.parametrize("by", ["id", "ref"])
def test_head_on_cancel_is_refused_and_cancels_nothing(client: TestClient, by: str) -> None:
    """D19: HEAD is safe. On the cancel path it is 405 with ``Allow: GET, POST``, and the
    payment stays PENDING; HEAD on the retrieve paths still answers as a retrieve."""
    _, created = create(client, "json", f"HEAD-{by}")
    payment_id = created["payment"]["id"]
    key = payment_id if by == "id" else f"HEAD-{by}"
    response = client.head(path(f"/{key}/cancel"), headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert get(client, "json", f"/{payment_id}")[1]["payment"]["status"] == "PENDING"
    assert client.head(path(f"/{payment_id}")).status_code == 200
    assert client.head(path(f"?ref=HEAD-{by}")).status_code == 200
    assert get(client, "json", f"/{payment_id}")[1]["payment"]["status"] == "PENDING"


D21_REFUSED = [
    pytest.param("json", b'{"cancelpaymentrequest": 5}', id="json-number"),
    pytest.param("json", b'{"cancelpaymentrequest": 5.5}', id="json-decimal"),
    pytest.param("json", b'{"cancelpaymentrequest": true}', id="json-true"),
    pytest.param("json", b'{"cancelpaymentrequest": false}', id="json-false"),
    pytest.param("json", b'{"cancelpaymentrequest": []}', id="json-empty-array"),
    pytest.param("json", b'{"cancelpaymentrequest": [{}]}', id="json-array"),
    pytest.param("json", b'{"cancelpaymentrequest": "cancel it"}', id="json-text"),
    pytest.param("xml", b"<cancelpaymentrequest>5</cancelpaymentrequest>", id="xml-number"),
    pytest.param("xml", b"<cancelpaymentrequest>true</cancelpaymentrequest>", id="xml-text"),
]


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize(("fmt", "body"), D21_REFUSED)
def test_cancel_value_outside_the_description_is_refused(
    client: TestClient, fmt: str, body: bytes, method: str
) -> None:
    """D21: a ``cancelpaymentrequest`` that is neither empty nor an object is 400
    INVALID_INPUT_VALUE 082000 with Source ``cancelpaymentrequest``; nothing is cancelled."""
    _, created = create(client, fmt, f"D21-{method}")
    payment_id = created["payment"]["id"]
    media = "application/json" if fmt == "json" else "application/xml"
    response = client.request(
        method,
        path(f"/{payment_id}/cancel"),
        content=body,
        headers={"Content-Type": media, "Accept": media},
    )
    assert response.status_code == 400, response.text
    error = error_of(decode(response.content, fmt))
    assert (error["ReasonCode"], error["Source"]) == ("INVALID_INPUT_VALUE", "cancelpaymentrequest")
    assert error["Details"]["Detail"]["Value"] == "082000"
    assert get(client, fmt, f"/{payment_id}")[1]["payment"]["status"] == "PENDING"


@pytest.mark.parametrize(
    "body",
    [
        b'{"cancelpaymentrequest": null}',
        b'{"cancelpaymentrequest": " \\n"}',
        b'{"TransactionReference": null, "additional_data": null}',
    ],
    ids=["json-null", "json-blank", "reference-client-unwrapped"],
)
def test_cancel_values_the_description_allows(client: TestClient, body: bytes) -> None:
    """D1/D21: null, blank text and the reference client's unwrapped object still cancel."""
    _, created = create(client, "json", "D21-OK")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    response = client.post(
        path(f"/{created['payment']['id']}/cancel"), content=body, headers=headers
    )
    assert (response.status_code, response.json()) == (
        200,
        {"cancelpayment": {"status": "SUCCESS"}},
    )
