"""Status-change push (D14) through a real ``xborder serve``: the outbox survives a SIGKILL
between the commit of the changes and their delivery, and the restarted server delivers
each event exactly once, in order per payment. The CLI commands of D14 via CliRunner."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from tests.e2e.server import start_server
from tests.lifecycle_support import bind, request
from tests.payloads import payment_request
from tests.webhook_receiver import receiving
from xborder.cli import main
from xborder.clock import SystemClock
from xborder.services.payments import PaymentRules, create_payment
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

PARTNER = "PUSH_MTF"
TOKEN = "push-admin-token"
SERVER_ENV = {
    "XBORDER_AUTH": "off",
    "XBORDER_ADMIN_TOKEN": TOKEN,
    "XBORDER_SCHEDULER": "off",
    "XBORDER_ACCESS_LOG": "off",
    "XBORDER_WEBHOOK_INTERVAL": "0.1",
    "XBORDER_WEBHOOK_BACKOFF": "0.05",
}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'push.db'}"
    engine = make_engine(url)
    upgrade(engine)
    bind(engine, PARTNER, "mtf")
    yield url, engine
    engine.dispose()


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def admin(base_url: str, path: str, body: object) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{base_url}/admin/v1/partners/{PARTNER}{path}"
    response = httpx.post(url, json=body, headers=headers, trust_env=False, timeout=10)
    assert response.status_code == 200, response.text


def test_events_committed_before_a_sigkill_arrive_once_after_restart(
    tmp_path: Path, database: tuple[str, Engine]
) -> None:
    url, engine = database
    uow_factory, rules = SqlAlchemyUowFactory(engine), PaymentRules()
    ids = [
        create_payment(
            PARTNER, request(f"PUSH-{n}"), uow_factory=uow_factory, clock=SystemClock(), rules=rules
        ).id
        for n in (1, 2)
    ]
    with receiving() as receiver:
        cli(
            "partners",
            "set-webhook",
            "--partner-id",
            PARTNER,
            "--url",
            receiver.url,
            "--database-url",
            url,
        )
        first = start_server(
            tmp_path / "one", database_url=url, env={**SERVER_ENV, "XBORDER_WEBHOOKS": "off"}
        )
        try:
            admin(first.base_url, "/accounts/USD/fund", {"amount": "500.00"})  # two releases
            admin(first.base_url, f"/payments/{ids[0]}/settle", None)
            admin(first.base_url, f"/payments/{ids[1]}/reject", {"code": "130101"})
        finally:
            first.kill()  # SIGKILL: committed, never delivered
        assert receiver.received == []
        second = start_server(tmp_path / "two", database_url=url, env=SERVER_ENV)
        try:
            documents = receiver.wait_for(4)
            time.sleep(0.5)  # a few more ticks: nothing may be sent twice
            documents = receiver.documents()
        finally:
            second.stop()
    refs = [d["eventRef"] for d in documents]
    assert len(refs) == len(set(refs)) == 4
    statuses = {
        pid: [
            d["payment"]["transactionStatus"]["status"]
            for d in documents
            if d["transactionReference"] == ref
        ]
        for pid, ref in zip(ids, ("PUSH-1", "PUSH-2"), strict=True)
    }
    assert statuses == {ids[0]: ["PENDING", "SUCCESS"], ids[1]: ["PENDING", "REJECTED"]}
    listing = cli("webhooks", "deliveries", "--partner-id", PARTNER, "--database-url", url)
    assert listing.count("DELIVERED") == 4 and "http=200" in listing


def test_set_webhook_generates_a_secret_once_and_takes_sandbox_partners(
    database: tuple[str, Engine],
) -> None:
    url, _engine = database
    output = cli(
        "partners",
        "set-webhook",
        "--partner-id",
        PARTNER,
        "--url",
        "http://127.0.0.1:9/hook",
        "--generate-secret",
        "--database-url",
        url,
    )
    secret = output.split("secret (shown once): ")[1].strip()
    assert len(secret) == 64
    assert secret not in cli("webhooks", "deliveries", "--database-url", url)
    # D18: a sandbox partner id without any binding registers like a bound one
    cli(
        "partners",
        "set-webhook",
        "--partner-id",
        "SANDBOX9",
        "--url",
        "http://127.0.0.1:9/hook",
        "--database-url",
        url,
    )
    with SqlAlchemyUowFactory(_engine)(readonly=True) as uow:
        assert uow.webhooks.target("SANDBOX9") is not None
        assert uow.partners.get("SANDBOX9") is None
    refused = CliRunner().invoke(
        main,
        [
            "partners",
            "set-webhook",
            "--partner-id",
            "NO SPACES",
            "--url",
            "http://h/x",
            "--database-url",
            url,
        ],
    )
    assert refused.exit_code == 1 and "not a partner id" in refused.output


def test_set_webhook_reads_the_secret_from_the_named_variable(
    database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, engine = database
    monkeypatch.setenv("HOOK_SECRET", "from-env")
    output = cli(
        "partners",
        "set-webhook",
        "--partner-id",
        PARTNER,
        "--url",
        "https://partner.invalid/xbs/status/webhook",
        "--secret-from-env",
        "HOOK_SECRET",
        "--database-url",
        url,
    )
    assert "(signed)" in output and "from-env" not in output
    with SqlAlchemyUowFactory(engine)(readonly=True) as uow:
        assert uow.webhooks.target(PARTNER) is not None
        assert uow.webhooks.target(PARTNER).secret == "from-env"  # type: ignore[union-attr]
    bad = CliRunner().invoke(
        main,
        [
            "partners",
            "set-webhook",
            "--partner-id",
            PARTNER,
            "--url",
            "ftp://x/y",
            "--database-url",
            url,
        ],
    )
    assert bad.exit_code != 0


def test_a_sandbox_partner_without_binding_gets_its_pushes(tmp_path: Path) -> None:
    """D18: registered through the admin API, a sandbox partner's changes are pushed (D14)."""
    sandbox = "SANDBOX_PUSH1"
    with receiving() as receiver:
        server = start_server(tmp_path, env=SERVER_ENV)
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            hook = httpx.put(
                server.url(f"/admin/v1/partners/{sandbox}/webhook"),
                json={"url": receiver.url, "secret": "sandbox-secret"},
                headers=headers,
                trust_env=False,
            )
            assert hook.status_code == 200 and hook.json()["signed"] is True, hook.text
            base = server.url(f"/send/v1/partners/{sandbox}/crossborder")
            created = httpx.post(
                f"{base}/payment",
                json={"paymentrequest": payment_request("SBX-1")},
                trust_env=False,
            )
            assert created.status_code == 200, created.text
            payment_id = created.json()["payment"]["id"]
            cancel = httpx.post(f"{base}/{payment_id}/cancel", json={}, trust_env=False)
            assert cancel.status_code == 200, cancel.text
            documents = receiver.wait_for(1)  # a sandbox create is no change: the cancel is
            listed = httpx.get(server.url("/admin/v1/webhooks"), headers=headers, trust_env=False)
        finally:
            server.stop()
    statuses = [d["payment"]["transactionStatus"]["status"] for d in documents]
    assert statuses == ["CANCELLED"]
    assert {d["partnerId"] for d in documents} == {sandbox}
    headers = {k.lower(): v for k, v in receiver.received[0].headers.items()}
    signature = headers.get("x-xborder-signature", "")
    assert signature.startswith("t=") and "sandbox-secret" not in signature
    assert listed.json()["webhooks"] == [
        {"partnerId": sandbox, "url": receiver.url, "signed": True}
    ]
