"""The web console (issue 14) through the in-process app: login (token form and one-time
link), session and CSRF checks, escaping, and the pages and actions over real use cases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.lifecycle_support import bind, request
from tests.payloads import PARTNER, path, payment_request
from xborder.api.app import create_app
from xborder.api.console.session import ConsoleKeys
from xborder.config import Settings
from xborder.services import accounts
from xborder.services.payments import create_payment

TOKEN = "console-admin-token"


@pytest.fixture
def app_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    configured = settings.replace(admin_token=TOKEN, clock="controllable")
    with TestClient(create_app(configured, engine=engine), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def console(app_client: TestClient) -> TestClient:
    answer = app_client.post("/console/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    return app_client


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found, html
    return found.group(1)


def create(client: TestClient, reference: str) -> str:
    answer = client.post(path("/payment"), json={"paymentrequest": payment_request(reference)})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["payment"]["id"])


def test_pages_need_a_session_and_a_wrong_token_is_refused(app_client: TestClient) -> None:
    for page in (
        "/console/",
        "/console/payments",
        "/console/requests",
        "/console/balances",
        "/console/webhooks",
    ):
        answer = app_client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    wrong = app_client.post("/console/login", data={"token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 200 and "Not the admin token" in wrong.text
    assert app_client.get("/console/stream").status_code == 401


def test_a_one_time_login_link_logs_in_once(app_client: TestClient) -> None:
    key = ConsoleKeys(TOKEN).login_key()
    first = app_client.get(f"/console/login?key={key}", follow_redirects=False)
    assert first.status_code == 303 and "xborder_console=" in first.headers["set-cookie"]
    app_client.cookies.clear()
    again = app_client.get(f"/console/login?key={key}", follow_redirects=False)
    assert again.status_code == 200 and "used already or has expired" in again.text
    forged = ConsoleKeys("another-token").login_key()
    assert "used already" in app_client.get(f"/console/login?key={forged}").text


def figure(html: str, table: str, label: str) -> str:
    """The number next to ``label`` in the home page's table ``table``."""
    section = html.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    found = re.search(
        rf">{re.escape(label)}(?:</a>)?[^<]*</td><td class=\"n\"[^>]*>([^<]+)<", section
    )
    assert found, section
    return found.group(1)


def test_home_page_shows_the_figures_of_metrics(console: TestClient) -> None:
    payment_id = create(console, "HOME-1")
    create(console, "HOME-2")
    console.post(path(f"/{payment_id}/cancel"), json={"cancelpaymentrequest": {}})
    console.get(path("/no-such-payment"))
    console.app.state.recorder.flush()  # type: ignore[attr-defined]

    html = console.get("/console/").text
    assert figure(html, "requests-by-status", "200") == "3"
    assert figure(html, "requests-by-status", "404") == "1"
    assert figure(html, "payments-by-status", "CANCELLED") == "1"
    assert figure(html, "payments-by-status", "PENDING") == "1"
    assert int(figure(html, "outbox", "Backlog (waiting for delivery)")) >= 1  # sender off
    assert figure(html, "outbox", "Delivery failures") == "0"
    assert figure(html, "writer", "Groups committed") != "0"
    assert 1.0 <= float(figure(html, "writer", "Mean group size (units)")) <= 3.0
    assert float(figure(html, "writer", "Mean commit latency (ms)")) > 0
    # the same reading as GET /metrics (one implementation of the figures)
    metrics = console.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert 'xborder_payments{status="CANCELLED"} 1.0' in metrics
    assert 'xborder_requests_total{operation="get",status="404"} 1.0' in metrics


def test_find_a_payment_cancel_it_and_see_what_touched_it(console: TestClient) -> None:
    payment_id = create(console, "CONSOLE-1")
    console.app.state.recorder.flush()  # type: ignore[attr-defined]
    listing = console.get("/console/payments", params={"q": "CONSOLE-1"})
    assert payment_id in listing.text and "PENDING" in listing.text
    page = console.get(f"/console/payments/{PARTNER}/{payment_id}")
    assert page.status_code == 200 and "content-security-policy" in page.headers
    token = csrf(page.text)
    url = f"/console/payments/{PARTNER}/{payment_id}/cancel"
    assert console.post(url, data={"csrf": "0" * 64}).status_code == 403
    done = console.post(url, data={"csrf": token})
    assert "cancel: done" in done.text and 'id="status">CANCELLED<' in done.text
    assert "/crossborder/payment" in done.text  # the create request, from the journal
    refused = console.post(url.replace("/cancel", "/settle"), data={"csrf": token})
    assert 'class="notice failed"' in refused.text and "Refused (" in refused.text


def test_values_are_escaped(console: TestClient) -> None:
    console.get(path("/%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
    console.app.state.recorder.flush()  # type: ignore[attr-defined]
    page = console.get("/console/requests")
    entry = re.search(r'href="/console/requests/(\d+)"', page.text)
    assert entry is not None
    shown = console.get(f"/console/requests/{entry.group(1)}")
    assert shown.status_code == 200 and "RESOURCE_UNKNOWN" in shown.text
    # the payment key the path named, decoded, is shown escaped
    assert "payment &lt;script&gt;alert(1)&lt;/script&gt;," in shown.text
    assert "<script>alert(1)" not in shown.text


def test_other_digits_and_letters_are_refused_not_failed(console: TestClient) -> None:
    # "¹" and "²" pass str.isdigit but not int(); compare_digest refuses non-ASCII str
    assert console.get("/console/requests", params={"status": "²"}).status_code == 200
    page = console.get("/console/webhooks")
    token = csrf(page.text)
    url = "/console/events/%C2%B9/redeliver"
    redeliver = console.post(url, data={"csrf": token}, follow_redirects=False)
    assert redeliver.status_code == 303 and "failed=1" in redeliver.headers["location"]
    forged = console.post("/console/events/1/redeliver", data={"csrf": "é" * 64})
    assert forged.status_code == 403
    with console.stream("GET", "/console/stream", params={"after": "²"}) as stream:
        assert stream.status_code == 200


def test_fund_clock_and_webhook_forms(console: TestClient, engine: Engine) -> None:
    bind(engine, "MTF_X", "mtf")
    token = csrf(console.get("/console/balances").text)
    funded = console.post(
        "/console/fund",
        data={"csrf": token, "partner": "MTF_X", "currency": "usd", "amount": "50.00"},
    )
    assert "funded MTF_X USD 50.00" in funded.text and "50.00" in funded.text
    bad = console.post(
        "/console/fund", data={"csrf": token, "partner": "MTF_X", "currency": "USD", "amount": "x"}
    )
    assert "Refused (400" in bad.text
    moved = console.post("/console/clock", data={"csrf": token, "seconds": "60"})
    assert "clock now" in moved.text
    assert "Refused" in console.post("/console/clock", data={"csrf": token, "seconds": "-1"}).text
    hooked = console.post(
        "/console/webhooks",
        data={"csrf": token, "partner": "SANDBOX_Z", "url": "http://h.invalid/x"},
    )
    assert "webhook of SANDBOX_Z" in hooked.text and "http://h.invalid/x" in hooked.text
    wrong = console.post(
        "/console/webhooks", data={"csrf": token, "partner": "P", "url": "ftp://x"}
    )
    assert "Refused: not an absolute http(s) URL" in wrong.text


def test_console_is_off_with_the_admin_api(settings: Settings, engine: Engine) -> None:
    configured = settings.replace(admin_token=TOKEN, deployment="production")
    with TestClient(create_app(configured, engine=engine)) as client:
        assert client.get("/console/login").status_code == 404


def test_operator_forms_move_a_funded_payment(console: TestClient, engine: Engine) -> None:
    bind(engine, "MTF_OPS", "mtf")
    services = console.app.state.services  # type: ignore[attr-defined]
    uses = {"uow_factory": services.uow_factory, "clock": services.clock, "rules": services.rules}
    accounts.fund_account("MTF_OPS", "USD", "500.00", **uses)
    payment = create_payment("MTF_OPS", request("OPS-1"), **uses)
    base = f"/console/payments/MTF_OPS/{payment.id}"
    token = csrf(console.get(base).text)
    advanced = console.post(f"{base}/advance", data={"csrf": token})
    assert "advance: done" in advanced.text and "EligibleForSettlement" in advanced.text
    assert "RESERVE" in advanced.text  # the ledger entry of the funded payment
    missing = console.post(f"{base}/reject", data={"csrf": token, "code": ""})
    assert "Refused (400" in missing.text
    rejected = console.post(f"{base}/reject", data={"csrf": token, "code": "130101"})
    assert "reject: done" in rejected.text and 'id="status">REJECTED<' in rejected.text
    unknown = console.post(f"{base}/explode", data={"csrf": token})
    assert "Refused (400" in unknown.text
