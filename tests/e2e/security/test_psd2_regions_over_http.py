"""D23 end to end over real HTTP: an EU project and a UK project, registered with the real
``xborder projects add --region …`` command while ``xborder serve`` runs, each create, retrieve
and cancel payments signed by request tokens and read balances with an access token of the
authorization-code flow (the client's ``Psd2Auth``), while the global OAuth 1.0a development
project beside them keeps working unchanged.

| project | region | environment | key | partner | consent |
|---|---|---|---|---|---|
| ``EU_KEY`` | eu | sandbox | RSA (RS256) | ``PARTNER`` (unbound) | automatic |
| ``UK_KEY`` | uk | mtf | EC P-256 (ES256) | ``UK_PARTNER`` (bound) | an operator approves |
| the dev project | global | sandbox | RSA (OAuth 1.0a) | ``PARTNER`` | none |
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.e2e.security.psd2 import KeyPair, ec_key_pair, rsa_key_pair
from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, payment_request
from xborder.cli import main
from xborder.client import (
    ConsentPending,
    OAuth1Auth,
    Psd2Auth,
    RequestTokenAuth,
    XborderClient,
    load_signing_key,
)

EU_KEY = "eu-side-by-side!1a2b3c4d"
UK_KEY = "uk-side-by-side!4d3c2b1a"
UK_PARTNER = "UK_SIDE_PARTNER1"
ADMIN = "side-by-side-admin"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("psd2-regions")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    with running_server(workdir, env={"XBORDER_ADMIN_TOKEN": ADMIN}) as running:
        yield running


def xborder(workdir: Path, *args: str) -> str:
    """Run the CLI against the running server's database, as an operator would."""
    result = CliRunner().invoke(main, [*args, "--data-dir", str(workdir / "data")])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def pairs(server: ServerProcess, workdir: Path) -> dict[str, KeyPair]:
    eu, uk = rsa_key_pair("eu side by side"), ec_key_pair("uk side by side")
    for consumer_key, pair, extra in (
        (EU_KEY, eu, ["--region", "eu"]),
        (UK_KEY, uk, ["--region", "uk", "--environment", "mtf"]),
    ):
        cert = workdir / f"{extra[1]}-signing-cert.pem"
        cert.write_text(pair.cert_pem)
        added = xborder(
            workdir, "projects", "add", "--consumer-key", consumer_key, "--signing-cert", str(cert),
            *extra,
        )  # fmt: skip
        assert f"region:            {extra[1]}" in added
    xborder(workdir, "partners", "add", "--partner-id", UK_PARTNER, "--project", UK_KEY)
    return {"eu": eu, "uk": uk}


def approve(server: ServerProcess, grant_id: str) -> None:
    approved = httpx.post(
        server.url(f"/admin/v1/oauth2/grants/{grant_id}/approve"),
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert approved.status_code == 200, approved.text


def lifecycle(client: XborderClient, reference: str) -> None:
    """Create, retrieve (by id), cancel, and retrieve the cancelled payment."""
    created = client.create_payment(payment_request(reference))
    assert created.status == "PENDING"
    assert client.get_payment(created.id).transaction_reference == reference
    assert client.cancel_payment(created.id).status == "SUCCESS"
    assert client.get_payment(created.id).status == "CANCELLED"


def test_eu_and_uk_projects_beside_an_oauth1_project(
    server: ServerProcess, workdir: Path, pairs: dict[str, KeyPair]
) -> None:
    sent: list[tuple[str, str]] = []

    def record(request: httpx.Request) -> None:
        scheme = request.headers.get("authorization", "").partition(" ")[0]
        sent.append((request.url.path, scheme))

    eu, uk = pairs["eu"], pairs["uk"]
    eu_auth = Psd2Auth(RequestTokenAuth(EU_KEY, eu.key_pem, eu.cert_pem))
    uk_auth = Psd2Auth(RequestTokenAuth(UK_KEY, uk.key_pem, uk.cert_pem))
    dev = workdir / "data" / "dev"
    oauth1 = OAuth1Auth(
        (dev / "consumer-key.txt").read_text().strip(),
        load_signing_key(dev / "signing-key.pem"),
    )
    hooks = {"request": [record]}
    with (
        httpx.Client(timeout=15.0, trust_env=False, event_hooks=hooks) as http,
        XborderClient(server.base_url, PARTNER, auth=eu_auth, http=http) as eu_client,
        XborderClient(server.base_url, UK_PARTNER, auth=uk_auth, http=http) as uk_client,
        XborderClient(server.base_url, PARTNER, auth=oauth1, http=http) as oauth1_client,
    ):
        lifecycle(eu_client, "SIDE-EU-1")
        lifecycle(uk_client, "SIDE-UK-1")
        lifecycle(oauth1_client, "SIDE-GLOBAL-1")

        assert eu_client.get_accounts(include_balance=True)  # sandbox consent: automatic
        with pytest.raises(ConsentPending) as pending:  # mtf: an operator must consent
            uk_client.get_accounts()
        approve(server, pending.value.grant_id)
        uk_accounts = {a.account_id for a in uk_client.get_accounts(include_balance=True)}
        eu_accounts = {a.account_id for a in eu_client.get_accounts()}  # the same access token
        assert uk_accounts and eu_accounts and not uk_accounts & eu_accounts  # each its partner
        assert oauth1_client.get_accounts(include_balance=True)

    payments = [scheme for path, scheme in sent if "/send/v1/" in path]
    balance = [scheme for path, scheme in sent if path.endswith("/crossborder/accounts")]
    assert set(payments) == {"Bearer", "OAuth"} and set(balance) == {"Bearer", "OAuth"}
    assert sum(path == "/oauth2/token" for path, _ in sent) == 2  # one code exchange each
