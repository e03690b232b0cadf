"""Webhooks in the admin API (D14, D18): any partner id registers, bad input is a clear 400,
deliveries are listed and a finished event can be sent again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.payloads import PARTNER, path, payment_request
from xborder.api.app import create_app
from xborder.config import Settings
from xborder.storage.tables import outbox

TOKEN = "hooks-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings.replace(admin_token=TOKEN), engine=engine)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def test_a_sandbox_partner_registers_and_bad_input_is_refused(client: TestClient) -> None:
    url = f"/admin/v1/partners/{PARTNER}/webhook"
    answer = client.put(url, json={"url": "https://partner.invalid/hook"}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "partnerId": PARTNER,
        "url": "https://partner.invalid/hook",
        "signed": False,
    }
    listed = client.get("/admin/v1/webhooks", headers=AUTH).json()["webhooks"]
    assert listed == [answer.json()]
    for body in ({}, {"url": "ftp://x"}, {"url": 3}, {"url": "http://h/x", "secret": ""}):
        refused = client.put(url, json=body, headers=AUTH)
        assert refused.status_code == 400, (body, refused.text)
    bad_partner = client.put(
        "/admin/v1/partners/" + "P" * 36 + "/webhook", json={"url": "http://h/x"}, headers=AUTH
    )
    assert bad_partner.status_code == 400
    assert client.put(url, json={"url": "http://h/x"}).status_code == 401


def test_a_finished_event_is_queued_again(client: TestClient, engine: Engine) -> None:
    created = client.post(path("/payment"), json={"paymentrequest": payment_request("RE-1")})
    payment_id = created.json()["payment"]["id"]
    client.post(path(f"/{payment_id}/cancel"), json={"cancelpaymentrequest": {}})
    with engine.begin() as connection:
        event_id = connection.execute(sa.select(sa.func.max(outbox.c.id))).scalar_one()
        connection.execute(outbox.update().values(outcome="SKIPPED", attempts=1))
    again = client.post(f"/admin/v1/events/{event_id}/redeliver", headers=AUTH)
    assert again.status_code == 200 and again.json() == {"eventId": event_id, "queued": True}
    with engine.connect() as connection:
        row = connection.execute(sa.select(outbox.c.outcome, outbox.c.attempts)).one()
    assert tuple(row) == (None, 0)
    # waiting now: not finished, so not again; an unknown id neither
    for event in (str(event_id), "999999", "abc", "%C2%B9"):  # "¹" passes str.isdigit
        answer = client.post(f"/admin/v1/events/{event}/redeliver", headers=AUTH)
        assert answer.status_code == 400, answer.text
    deliveries = client.get("/admin/v1/deliveries", params={"payment_id": payment_id}, headers=AUTH)
    assert deliveries.status_code == 200 and deliveries.json()["deliveries"] == []
