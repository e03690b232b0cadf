"""The request journal (issue 14) through the in-process app: every XBS request is recorded
off the request path, listed and shown by the admin API, redacted, bounded; and the live
stream carries new requests and status changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.payloads import PARTNER, path, payment_request
from xborder.api.app import create_app
from xborder.config import Settings

TOKEN = "journal-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def app_client(settings: Settings, engine: Engine, **changes: Any) -> TestClient:
    configured = settings.replace(admin_token=TOKEN, **changes)
    return TestClient(create_app(configured, engine=engine), base_url="http://testserver")


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with app_client(settings, engine) as client:
        yield client


def flush(client: TestClient) -> None:
    client.app.state.recorder.flush()  # type: ignore[attr-defined]


def create(client: TestClient, reference: str) -> str:
    body = {"paymentrequest": payment_request(reference)}
    response = client.post(path("/payment"), json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["payment"]["id"])


def requests(client: TestClient, **query: Any) -> dict[str, Any]:
    response = client.get("/admin/v1/requests", params=query, headers=AUTH)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_requests_and_answers_are_listed_and_shown_with_both_bodies(client: TestClient) -> None:
    payment_id = create(client, "JOURNAL-1")
    cancel = client.post(path(f"/{payment_id}/cancel"), json={"cancelpaymentrequest": {}})
    assert cancel.status_code == 200, cancel.text
    assert client.get(path("/NOPE")).status_code == 404
    flush(client)

    listed = requests(client, payment=payment_id)["requests"]
    assert [(r["operation"], r["status"]) for r in listed] == [("cancel", 200), ("create", 200)]
    assert all(r["partnerId"] == PARTNER and r["paymentId"] == payment_id for r in listed)
    shown = client.get(f"/admin/v1/requests/{listed[1]['id']}", headers=AUTH).json()
    assert "JOURNAL-1" in shown["requestBody"] and payment_id in shown["responseBody"]
    assert shown["method"] == "POST" and shown["latencyMs"] > 0
    assert shown.get("requestPlain") is None and shown.get("explanation") is None

    refused = requests(client, status=404)["requests"]
    assert refused[0]["reasonCode"] == "RESOURCE_UNKNOWN" and refused[0]["paymentId"] == "NOPE"


def test_refused_authentication_is_explained_and_secrets_are_redacted(
    client: TestClient,
) -> None:
    header = (
        'OAuth oauth_consumer_key="nobody",oauth_nonce="n1",oauth_timestamp="1",'
        'oauth_signature_method="RSA-SHA256",oauth_version="1.0",'
        'oauth_body_hash="x",oauth_signature="c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"'
    )
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
    body = f'{{"paymentrequest": {{"note": "{TOKEN} {key}"}}}}'
    answer = client.post(path("/payment"), content=body, headers={"Authorization": header})
    assert answer.status_code == 401
    flush(client)

    entry = requests(client, status=401)["requests"][0]
    assert entry["reasonCode"] == "DECLINED" and entry["consumerKey"] == "nobody"
    shown = client.get(f"/admin/v1/requests/{entry['id']}", headers=AUTH).json()
    assert shown["explanation"]["reason"] == "unknown consumer key"
    stored = str(shown)
    for secret in ("c2VjcmV0LXNpZ25hdHVyZQ", TOKEN, "MIIEvQIBADANBg"):
        assert secret not in stored
    assert 'oauth_signature="[redacted]"' in shown["requestHeaders"]["authorization"]


def test_filters_paging_and_bad_queries(client: TestClient) -> None:
    ids = [create(client, f"PAGE-{n}") for n in range(3)]
    flush(client)
    first = requests(client, limit=2, partner_id=PARTNER)
    assert [r["paymentId"] for r in first["requests"]] == [ids[2], ids[1]]
    second = requests(client, limit=2, before=first["next"])
    assert [r["paymentId"] for r in second["requests"]] == [ids[0]] and second.get("next") is None
    assert requests(client, since="2999-01-01T00:00:00Z")["requests"] == []
    assert requests(client, partner_id="OTHER")["requests"] == []
    for query in ({"status": "abc"}, {"since": "yesterday"}, {"limit": "-1"}):
        assert client.get("/admin/v1/requests", params=query, headers=AUTH).status_code == 400
    assert client.get("/admin/v1/requests/999999", headers=AUTH).status_code == 404
    assert client.get("/admin/v1/requests").status_code == 401


def test_retention_keeps_the_newest_rows(settings: Settings, engine: Engine) -> None:
    with app_client(settings, engine, journal_max_rows=2) as client:
        ids = [create(client, f"KEEP-{n}") for n in range(4)]
        flush(client)
        assert [r["paymentId"] for r in requests(client)["requests"]] == [ids[3], ids[2]]


def test_journal_off_stores_nothing(settings: Settings, engine: Engine) -> None:
    with app_client(settings, engine, journal=False) as client:
        create(client, "OFF-1")
        flush(client)
        assert requests(client)["requests"] == []


def test_live_stream_carries_new_requests_and_status_changes(client: TestClient) -> None:
    assert client.get("/admin/v1/stream").status_code == 401
    assert client.get("/admin/v1/stream?max_seconds=0", headers=AUTH).status_code == 400
    received: list[str] = []

    def listen() -> None:
        response = client.get("/admin/v1/stream?max_seconds=2.5", headers=AUTH)
        assert response.headers["content-type"].startswith("text/event-stream")
        received.append(response.text)

    listener = threading.Thread(target=listen)
    listener.start()
    threading.Event().wait(0.5)  # the stream starts at what is newest when it opens
    payment_id = create(client, "LIVE-1")
    client.post(path(f"/{payment_id}/cancel"), json={"cancelpaymentrequest": {}})
    flush(client)
    listener.join(10)
    text = received[0]
    assert "event: request" in text and "requestBody" not in text  # lists, not bodies
    assert f'"paymentId": "{payment_id}"' in text
    assert "event: status" in text and '"status": "CANCELLED"' in text


@pytest.mark.parametrize(
    "query",
    [
        {"limit": ""},  # found by the contract fuzzer: an empty count was read as no count
        {"status": "²"},
        {"before": "1" * 19},  # past a 64-bit integer
        {"since": ""},
        {"since": "2026-12-06"},  # a date is not a date-time (RFC 3339, as described)
        {"since": "2026-12-06T12:00:00"},  # nor a date-time without its offset
    ],
)
def test_journal_filters_take_only_what_the_description_allows(
    client: TestClient, query: dict[str, str]
) -> None:
    """D21: a value the description does not allow is 400 in the Errors envelope."""
    response = client.get("/admin/v1/requests", params=query, headers=AUTH)
    assert response.status_code == 400, response.text
    error = response.json()["Errors"]["Error"]
    assert (error["ReasonCode"], error["Source"]) == ("INVALID_INPUT_VALUE", next(iter(query)))


def test_a_journal_id_that_is_no_count_is_not_found(client: TestClient) -> None:
    for raw in ("²", "9" * 19):
        assert client.get(f"/admin/v1/requests/{raw}", headers=AUTH).status_code == 404
    assert requests(client, since="2026-12-06T12:00:00+01:00")["requests"] == []
