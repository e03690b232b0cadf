"""``GET /metrics`` (issue 14): Prometheus text behind the admin token, where the admin API is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.payloads import PARTNER, path, payment_request
from xborder.api.app import create_app
from xborder.config import Settings

TOKEN = "metrics-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    # The journal off: its rows would be writer units too, and the request counts must not
    # depend on it (they come from the trace of each request)
    app = create_app(settings.replace(admin_token=TOKEN, journal=False), engine=engine)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_requests_payments_and_outbox_are_counted(client: TestClient) -> None:
    created = client.post(path("/payment"), json={"paymentrequest": payment_request("M-1")})
    payment_id = created.json()["payment"]["id"]
    client.post(path(f"/{payment_id}/cancel"), json={"cancelpaymentrequest": {}})
    client.post(path("/payment"), json={"paymentrequest": payment_request("M-2")})
    client.get(path("/unknown-payment"))
    client.app.state.recorder.flush()  # type: ignore[attr-defined]

    seen = samples(client)
    assert seen[("xborder_requests_total", (("operation", "create"), ("status", "200")))] == 2
    assert seen[("xborder_requests_total", (("operation", "cancel"), ("status", "200")))] == 1
    assert seen[("xborder_requests_total", (("operation", "get"), ("status", "404")))] == 1
    assert seen[("xborder_request_duration_seconds_count", (("operation", "create"),))] == 2
    assert seen[("xborder_payments", (("status", "CANCELLED"),))] == 1
    assert seen[("xborder_payments", (("status", "PENDING"),))] == 1
    # the sender is off in this suite: the cancel's status change waits in the outbox
    assert seen[("xborder_outbox_backlog", ())] >= 1
    assert seen[("xborder_webhook_events", (("outcome", "WAITING"),))] >= 1
    assert seen[("xborder_journal_dropped", ())] == 0
    # three writes went through the request writer (two creates, a cancel; the get is a read)
    assert seen[("xborder_writer_units_total", ())] == 3
    assert 1 <= seen[("xborder_writer_groups_total", ())] <= 3
    assert seen[("xborder_writer_group_seconds_total", ())] > 0
    assert seen[("xborder_writer_groups_rerun_total", ())] == 0  # no unit failed after a change


def test_metrics_need_the_admin_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_metrics_are_off_with_the_admin_api(settings: Settings, engine: Engine) -> None:
    configured = settings.replace(admin_token=TOKEN, deployment="production")
    with TestClient(create_app(configured, engine=engine)) as client:
        assert client.get("/metrics", headers=AUTH).status_code == 404


def test_admin_writes_are_units_of_the_request_writer(client: TestClient) -> None:
    # Issue 12: an admin action commits in the writer's groups, not in a transaction of its
    # own that could deadlock with a group on PostgreSQL and fail with no second chance
    created = client.post(path("/payment"), json={"paymentrequest": payment_request("M-3")})
    payment_id = created.json()["payment"]["id"]
    units = ("xborder_writer_units_total", ())
    before = samples(client)[units]

    advance = f"/admin/v1/partners/{PARTNER}/payments/{payment_id}/advance"
    assert client.post(advance, headers=AUTH).status_code == 200
    assert samples(client)[units] == before + 1
    # so is an action the use case refuses: rolled back alone, its 409 sent after the group
    returned = f"/admin/v1/partners/{PARTNER}/payments/{payment_id}/return"
    assert client.post(returned, headers=AUTH, json={"code": "130190"}).status_code == 409
    assert samples(client)[units] == before + 2
