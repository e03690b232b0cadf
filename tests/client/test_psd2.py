"""The client of an eu/uk project (D23) over real HTTP: ``Psd2Auth`` signs payments with
request tokens and reaches the Balance API with an access token it obtains by the
authorization-code flow, renews by the refresh token, and after a revocation obtains anew;
the CLI's commands work unchanged with ``XBORDER_REGION``. An mtf project's grant waits for
an operator (``ConsentPending``), then the same auth collects its code."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.e2e.security.psd2 import KeyPair, add_psd2_project, rsa_key_pair
from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, payment_request
from xborder.cli import main
from xborder.client import (
    AccessTokenAuth,
    AsyncXborderClient,
    ConsentPending,
    Psd2Auth,
    RequestTokenAuth,
    XborderClient,
)
from xborder.domain.projects import Environment, Region
from xborder.storage.engine import make_engine
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

EU_KEY = "eu-client!0a1b2c3d4e"
UK_KEY = "uk-client!5f6a7b8c9d"
UK_PARTNER = "UK_CLIENT_PARTNER1"
ADMIN = "client-suite-admin"


class Clock:
    """Wall time, moved forward by ``offset`` (the client's view only)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("psd2-client")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    with running_server(workdir, env={"XBORDER_ADMIN_TOKEN": ADMIN}) as running:
        yield running


@pytest.fixture(scope="module")
def pairs(server: ServerProcess, workdir: Path) -> dict[str, KeyPair]:
    """An eu sandbox project and a uk mtf one, added to the running server's database."""
    eu, uk = rsa_key_pair("eu client"), rsa_key_pair("uk client")
    engine = make_engine(f"sqlite:///{workdir / 'data' / 'xborder.db'}")
    try:
        uow_factory = SqlAlchemyUowFactory(engine)
        add_psd2_project(uow_factory, EU_KEY, eu.cert_pem, region=Region.EU)
        add_psd2_project(
            uow_factory,
            UK_KEY,
            uk.cert_pem,
            region=Region.UK,
            environment=Environment.MTF,
            partner=UK_PARTNER,
        )
    finally:
        engine.dispose()
    return {"eu": eu, "uk": uk}


def test_payments_by_request_token_and_balance_by_access_token(
    server: ServerProcess, pairs: dict[str, KeyPair]
) -> None:
    eu = pairs["eu"]
    transport = httpx.HTTPTransport()
    sent: list[httpx.Request] = []
    request_token = RequestTokenAuth(EU_KEY, eu.key_pem, eu.cert_pem)

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return transport.handle_request(request)

    with (
        transport,
        XborderClient(
            server.base_url,
            PARTNER,
            auth=Psd2Auth(request_token),
            transport=httpx.MockTransport(record),
        ) as client,
    ):
        created = client.create_payment(payment_request("PSD2-CLIENT-1"))
        assert client.cancel_payment(created.id).status == "SUCCESS"
        assert [a.account_id for a in client.get_accounts(include_balance=True)]
        client.get_accounts()  # the access token is reused
    paths = [request.url.path for request in sent]
    assert paths.count("/oauth2/authorize") == 1 and paths.count("/oauth2/token") == 1
    balance = [r for r in sent if r.url.path.endswith("/crossborder/accounts")]
    payments = [r for r in sent if "/send/v1/" in r.url.path]
    assert all(r.headers["authorization"].count(".") == 0 for r in balance)  # opaque token
    assert all(r.headers["authorization"].count(".") == 2 for r in payments)  # a JWT


def test_the_access_token_is_refreshed_before_it_expires_and_renewed_after_revocation(
    server: ServerProcess, workdir: Path, pairs: dict[str, KeyPair]
) -> None:
    eu, clock = pairs["eu"], Clock()
    request_token = RequestTokenAuth(EU_KEY, eu.key_pem, eu.cert_pem)
    access = AccessTokenAuth(request_token, clock=clock)
    sent: list[str] = []

    def record(request: httpx.Request) -> None:
        sent.append(request.url.path)

    hooks = {"request": [record]}
    with httpx.Client(base_url=server.base_url, timeout=15.0, event_hooks=hooks) as http:
        accounts = f"/send/partners/{PARTNER}/crossborder/accounts"
        assert http.get(accounts, auth=access).status_code == 200
        assert sent == ["/oauth2/authorize", "/oauth2/token", accounts]
        clock.offset = 900  # the access token would have expired: renewed by refresh
        sent.clear()
        assert http.get(accounts, auth=access).status_code == 200
        assert sent == ["/oauth2/token", accounts]
        revoke = ["tokens", "revoke", "--project", EU_KEY, "--data-dir", str(workdir / "data")]
        assert CliRunner().invoke(main, revoke).exit_code == 0
        sent.clear()
        assert http.get(accounts, auth=access).status_code == 200  # a new consent, sandbox
        assert sent == [
            accounts,  # 401: revoked
            "/oauth2/token",  # the refresh token is revoked too
            "/oauth2/authorize",
            "/oauth2/token",
            accounts,
        ]


def test_an_mtf_grant_waits_for_the_operator(
    server: ServerProcess, pairs: dict[str, KeyPair]
) -> None:
    uk = pairs["uk"]
    auth = Psd2Auth(RequestTokenAuth(UK_KEY, uk.key_pem, uk.cert_pem))
    with XborderClient(server.base_url, UK_PARTNER, auth=auth) as client:
        with pytest.raises(ConsentPending) as pending:
            client.get_accounts()
        approved = httpx.post(
            server.url(f"/admin/v1/oauth2/grants/{pending.value.grant_id}/approve"),
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert approved.status_code == 200, approved.text
        assert client.get_accounts() == []  # no account yet: the gate let it through


def test_cli_commands_work_unchanged_with_a_region(
    server: ServerProcess, pairs: dict[str, KeyPair], tmp_path: Path
) -> None:
    eu = pairs["eu"]
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    key.write_text(eu.key_pem)
    cert.write_text(eu.cert_pem)
    env = {
        "XBORDER_BASE_URL": server.base_url,
        "XBORDER_PARTNER_ID": PARTNER,
        "XBORDER_REGION": "eu",
        "XBORDER_CONSUMER_KEY": EU_KEY,
        "XBORDER_SIGNING_KEY": str(key),
        "XBORDER_SIGNING_CERT": str(cert),
        "XDG_CONFIG_HOME": str(tmp_path),  # no profiles file
    }
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"paymentrequest": payment_request("PSD2-CLI-1")}))
    runner = CliRunner(env=env)
    created = runner.invoke(main, ["payments", "create", str(request)])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(main, ["accounts", "list"])
    assert listed.exit_code == 0, listed.output
    global_signing = runner.invoke(main, ["accounts", "list"], env={"XBORDER_REGION": "global"})
    assert global_signing.exit_code != 0  # OAuth 1.0a to an eu project: 401 DECLINED


@pytest.mark.anyio
async def test_the_async_client_runs_the_same_flows(
    server: ServerProcess, pairs: dict[str, KeyPair]
) -> None:
    eu = pairs["eu"]
    auth = Psd2Auth(RequestTokenAuth(EU_KEY, eu.key_pem, eu.cert_pem))
    async with AsyncXborderClient(server.base_url, PARTNER, auth=auth) as client:
        created = await client.create_payment(payment_request("PSD2-ASYNC-1"))
        assert (await client.get_payment(created.id)).status == "PENDING"
        assert await client.get_accounts(include_balance=True)
