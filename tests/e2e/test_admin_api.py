"""The admin API and CLI (D17) and the Balance API (docs/reference.md §12), through the
in-process app."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.fakes import OpenGate
from tests.lifecycle_support import bind
from tests.payloads import payment_request
from xborder.api.app import create_app
from xborder.cli import main
from xborder.cli.commands._profiles import Injected
from xborder.config import Settings

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MTF = "MYBANK_MTF"


@pytest.fixture
def admin(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app with the admin API on, the controllable clock, no background scheduler, and a
    gate that admits every partner (the signed gate has its own suites)."""
    configured = settings.replace(admin_token=TOKEN, clock="controllable", scheduler=False)
    app = create_app(configured, engine=engine, gate=OpenGate())
    bind(engine, MTF, "mtf")
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def error_of(response: Any) -> dict[str, Any]:
    error = response.json()["Errors"]["Error"]
    assert isinstance(error, dict)
    return error


def detail(error: dict[str, Any]) -> str:
    return str(error["Details"]["Detail"]["Value"])


def create(client: TestClient, reference: str, amount: str = "100.00", **extra: Any) -> Any:
    body = payment_request(reference, **extra)
    body["payment_amount"] = {"amount": amount, "currency": "USD"}
    response = client.post(
        f"/send/v1/partners/{MTF}/crossborder/payment", json={"paymentrequest": body}
    )
    assert response.status_code == 200, response.text
    return response.json()["payment"]


def fund(client: TestClient, amount: str, partner: str = MTF) -> Any:
    return client.post(
        f"/admin/v1/partners/{partner}/accounts/USD/fund", json={"amount": amount}, headers=AUTH
    )


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_admin_api_refuses_calls_without_its_credential(
    admin: TestClient, headers: dict[str, str]
) -> None:
    response = admin.get("/admin/v1/clock", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert error_of(response)["ReasonCode"] == "DECLINED"


def test_admin_api_without_a_configured_token_refuses_everything(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings.replace(scheduler=False), engine=engine)
    with TestClient(app) as client:
        assert (
            client.get("/admin/v1/clock", headers={"Authorization": "Bearer "}).status_code == 401
        )


@pytest.mark.parametrize(("admin_flag", "status"), [(None, 404), (True, 200)])
def test_admin_api_is_off_by_default_in_production(
    settings: Settings, engine: Engine, admin_flag: bool | None, status: int
) -> None:
    production = settings.replace(
        deployment="production", admin=admin_flag, admin_token=TOKEN, scheduler=False
    )
    with TestClient(create_app(production, engine=engine)) as client:
        assert client.get("/admin/v1/clock", headers=AUTH).status_code == status


def test_production_setting_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"XBORDER_DEPLOYMENT": "production"})
    assert not settings.admin_enabled
    assert Settings.from_env(
        {"XBORDER_DEPLOYMENT": "production", "XBORDER_ADMIN": "on"}
    ).admin_enabled
    assert Settings().admin_enabled


def test_walk_through_fund_queue_cancel_balance(admin: TestClient) -> None:
    fund(admin, "50.00")
    payment = create(admin, "WALK-1", "80.00", recipient_uri="iban:CH9300762011623852957")
    assert (payment["status"], payment["pending_stage"]) == ("PENDING", "InsufficientBalance")
    account = admin.get(f"/send/partners/{MTF}/crossborder/accounts?include_balance=true").json()
    details = account[0]["balanceDetails"]
    assert details["availableBalance"] == {"amount": "50.00", "currency": "USD"}
    assert details["queuedBalance"] == {"amount": "80.00", "currency": "USD"}
    cancel = admin.post(f"/send/v1/partners/{MTF}/crossborder/{payment['id']}/cancel")
    assert cancel.json() == {"cancelpayment": {"status": "SUCCESS"}}
    one = admin.get(f"/send/partners/{MTF}/crossborder/accounts/{account[0]['accountId']}").json()
    assert one["balanceDetails"]["queuedBalance"]["amount"] == "0.00"
    events = admin.get(f"/admin/v1/events?payment_id={payment['id']}", headers=AUTH).json()
    assert [e["status"] for e in events["events"]] == ["CANCELLED"]


def test_fund_releases_and_actions_follow_the_lifecycle(admin: TestClient) -> None:
    payment = create(admin, "ACT-1", "60.00")
    answer = fund(admin, "100.00").json()
    assert answer["released"] == [payment["id"]]
    assert answer["account"]["balanceDetails"]["reservedBalance"]["amount"] == "60.00"
    base = f"/admin/v1/partners/{MTF}/payments/ACT-1"
    advanced = admin.post(base + "/advance", headers=AUTH).json()["payment"]
    assert advanced["pending_stage"] == "EligibleForSettlement"
    settled = admin.post(base + "/settle", headers=AUTH).json()["payment"]
    assert settled["status"] == "SUCCESS"
    returned = admin.post(base + "/return", json={"code": "130190"}, headers=AUTH).json()
    assert returned["payment"]["rejected_status"]["Code"] == "130190"


@pytest.mark.parametrize(
    ("action", "body"), [("advance", None), ("settle", None), ("reject", {"code": "130101"})]
)
def test_illegal_actions_get_a_clear_error(
    admin: TestClient, action: str, body: dict[str, str] | None
) -> None:
    fund(admin, "100.00")
    payment = create(admin, f"ILL-{action}")
    admin.post(f"/admin/v1/partners/{MTF}/payments/{payment['id']}/settle", headers=AUTH)
    response = admin.post(
        f"/admin/v1/partners/{MTF}/payments/{payment['id']}/{action}", json=body, headers=AUTH
    )
    assert response.status_code == 409
    error = error_of(response)
    assert (error["Source"], error["ReasonCode"], detail(error)) == (action, "DECLINE", "130111")
    assert "SUCCESS" in error["Description"]


def test_return_of_a_pending_payment_and_bad_input_are_refused(admin: TestClient) -> None:
    payment = create(admin, "BAD-1")
    base = f"/admin/v1/partners/{MTF}/payments/{payment['id']}"
    assert admin.post(base + "/return", json={"code": "130190"}, headers=AUTH).status_code == 409
    missing = admin.post(base + "/reject", json={}, headers=AUTH)
    assert (missing.status_code, error_of(missing)["Source"]) == (400, "code")
    assert admin.post(base + "/reject", content=b"[1]", headers=AUTH).status_code == 400
    unknown = admin.post(f"/admin/v1/partners/{MTF}/payments/rem_nope/settle", headers=AUTH)
    assert (unknown.status_code, detail(error_of(unknown))) == (404, "110507")
    sandbox = fund(admin, "10.00", partner="SANDBOX_ONLY")
    assert sandbox.status_code == 409 and "sandbox partner" in error_of(sandbox)["Description"]
    assert fund(admin, "1.234").status_code == 400


def test_clock_advance_expires_queued_payments(admin: TestClient) -> None:
    payment = create(admin, "EXPIRE-1")
    moved = admin.post("/admin/v1/clock/advance", json={"seconds": 25 * 3600}, headers=AUTH)
    assert moved.status_code == 200 and moved.json()["steps"] == 1
    retrieved = admin.get(f"/send/v1/partners/{MTF}/crossborder/{payment['id']}").json()
    assert retrieved["payment"]["rejected_status"]["Code"] == "130196"
    assert (
        admin.post("/admin/v1/clock/advance", json={"seconds": -1}, headers=AUTH).status_code == 400
    )


def test_clock_advance_is_refused_on_the_wall_clock(settings: Settings, engine: Engine) -> None:
    app = create_app(settings.replace(admin_token=TOKEN, scheduler=False), engine=engine)
    with TestClient(app) as client:
        response = client.post("/admin/v1/clock/advance", json={"seconds": 60}, headers=AUTH)
    assert response.status_code == 409 and error_of(response)["Source"] == "clock"


SANDBOX = "/send/partners/SANDBOX_BAL/crossborder/accounts"


def test_sandbox_balance_list_with_and_without_balances(admin: TestClient) -> None:
    plain = admin.get(SANDBOX, params={"include_balance": "false"}).json()
    assert plain == [
        {"accountId": "acct_1001", "accountState": "ACTIVE"},
        {"accountId": "acct_1003", "accountState": "ACTIVE"},
    ]
    full = admin.get(
        SANDBOX, params={"include_balance": "true"}, headers={"Accept": "application/xml"}
    )
    assert full.headers["content-type"] == "application/json"
    details = full.json()[0]["balanceDetails"]
    assert "queuedBalance" not in details
    assert details["availableBalance"]["amount"] == "8000.50"
    assert details["settlementAccountBalance"]["amount"] == "8100.50"
    assert admin.get(SANDBOX, params={"include_balance": "maybe"}).status_code == 400


@pytest.mark.parametrize(
    ("account_id", "status", "code"),
    [
        ("ERR_130192", 402, "130192"),
        ("ERR_130193", 404, "130193"),
        ("acct%2B%2B@bc", 400, "082000"),
        ("a" * 31, 400, "072000"),
    ],
)
def test_sandbox_balance_error_triggers(
    admin: TestClient, account_id: str, status: int, code: str
) -> None:
    response = admin.get(f"{SANDBOX}/{account_id}")
    assert response.status_code == status
    assert detail(error_of(response)) == code


def test_sandbox_queued_account(admin: TestClient) -> None:
    details = admin.get(f"{SANDBOX}/acct_ssq").json()["balanceDetails"]
    assert details["queuedBalance"] == {"amount": "246.02", "currency": "USD"}


def test_account_ids_are_validated_for_ledger_partners_too(admin: TestClient) -> None:
    base = f"/send/partners/{MTF}/crossborder/accounts"
    assert detail(error_of(admin.get(f"{base}/{'b' * 31}"))) == "072000"
    assert detail(error_of(admin.get(f"{base}/acct_missing"))) == "130193"
    assert admin.post(base).status_code == 405


class _Bridge(httpx.BaseTransport):
    """Lets the CLI's httpx client talk to the in-process app through the TestClient."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.client.request(
            request.method,
            request.url.raw_path.decode(),
            content=request.read(),
            headers=dict(request.headers),
        )
        return httpx.Response(
            answer.status_code, headers=answer.headers.raw, content=answer.content
        )


def run_cli(admin: TestClient, *args: str) -> Any:
    runner = CliRunner()
    return runner.invoke(
        main,
        [*args, "--token", TOKEN],
        obj=Injected(transport=_Bridge(admin)),
        catch_exceptions=False,
    )


def test_cli_funds_advances_and_moves_the_clock(admin: TestClient) -> None:
    payment = create(admin, "CLI-1", "70.00")
    funded = run_cli(
        admin, "accounts", "fund", "--partner-id", MTF, "--currency", "USD", "--amount", "70.00"
    )
    assert funded.exit_code == 0, funded.output
    assert payment["id"] in funded.output
    advanced = run_cli(admin, "payments", "advance", "--partner-id", MTF, "CLI-1")
    assert advanced.exit_code == 0 and "EligibleForSettlement" in advanced.output
    refused = run_cli(admin, "payments", "return", "--partner-id", MTF, "CLI-1", "--code", "130190")
    assert refused.exit_code == 1 and "does not allow it" in refused.output
    settled = run_cli(admin, "payments", "settle", "--partner-id", MTF, "CLI-1")
    assert settled.exit_code == 0 and '"SUCCESS"' in settled.output
    clock = run_cli(admin, "clock", "advance", "2h30m")
    assert clock.exit_code == 0 and '"steps"' in clock.output


def test_cli_falls_back_to_the_development_token_file(
    admin: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: a development ``serve`` keeps its admin token in DATA/admin-token."""
    bridge = Injected(transport=_Bridge(admin))
    monkeypatch.setenv("XBORDER_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(main, ["clock", "show"], obj=bridge).exit_code == 7
    (tmp_path / "admin-token").write_text(TOKEN + "\n")
    shown = CliRunner().invoke(main, ["clock", "show"], obj=bridge)
    assert shown.exit_code == 0 and '"controllable"' in shown.output


def test_cli_reports_a_refused_token(admin: TestClient) -> None:
    result = CliRunner().invoke(
        main, ["clock", "show", "--token", "nope"], obj=Injected(transport=_Bridge(admin))
    )
    assert result.exit_code == 7


def test_the_servers_scheduler_thread_runs_due_steps(settings: Settings, engine: Engine) -> None:
    bind(engine, MTF, "mtf")
    fast = settings.replace(
        scheduler=True, scheduler_interval=0.1, max_queue_seconds=1, admin_token=TOKEN
    )
    app = create_app(fast, engine=engine, gate=OpenGate())
    with TestClient(app) as client:
        payment = create(client, "THREAD-1")
        assert payment["pending_stage"] == "InsufficientBalance"
        for _ in range(100):
            retrieved = client.get(f"/send/v1/partners/{MTF}/crossborder/{payment['id']}").json()
            if retrieved["payment"]["status"] == "REJECTED":
                break
            threading.Event().wait(0.05)
    assert retrieved["payment"]["rejected_status"]["Code"] == "130196"


def test_lifecycle_settings_are_read_and_checked() -> None:
    from xborder.api.wiring import lifecycle_rules
    from xborder.domain.channels import Channel
    from xborder.errors import ConfigError

    env = {
        "XBORDER_CLOCK": "Controllable",
        "XBORDER_MAX_QUEUE_SECONDS": "60",
        "XBORDER_LIFECYCLE_DELAYS": "MOBILE_MONEY=5/7, CARD=1/2",
        "XBORDER_SCHEDULER": "off",
    }
    settings = Settings.from_env(env)
    assert (settings.clock, settings.scheduler) == ("controllable", False)
    rules = lifecycle_rules(settings)
    assert rules.max_queue_time.total_seconds() == 60
    assert rules.delays_for(Channel.MOBILE_MONEY).settlement.total_seconds() == 7
    assert rules.delays_for(Channel.BANK_ACCOUNT).processing.total_seconds() == 1800
    for name, raw in [("CLOCK", "fast"), ("LIFECYCLE_DELAYS", "CARD=x/1"), ("DEPLOYMENT", "prod")]:
        with pytest.raises(ConfigError):
            Settings.from_env({f"XBORDER_{name}": raw})
    with pytest.raises(ConfigError):
        lifecycle_rules(Settings.from_env({"XBORDER_LIFECYCLE_DELAYS": "PIGEON=1/1"}))
