"""D23 over real HTTP: ``xborder serve`` in a subprocess, an eu project registered while it
runs, and requests signed by the client's ``RequestTokenAuth`` (a fresh request token per
send, as Mastercard's OAuth 2.0 reference client does)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.e2e.security.psd2 import KeyPair, bearer, eu_project_of_server
from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, encode, path, payment_request
from tests.signing import mastercard_header
from xborder.cli import main
from xborder.client import RequestTokenAuth
from xborder.security.keys import load_private_key

EU_KEY = "eu-over-http!0a1b2c3d"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("psd2-http")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    with running_server(workdir) as running:
        yield running


@pytest.fixture(scope="module")
def pair(server: ServerProcess, workdir: Path) -> KeyPair:
    """An eu sandbox project, added to the running server's database through the repository."""
    return eu_project_of_server(workdir / "data", EU_KEY, "eu over http")


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15.0, trust_env=False) as client:
        yield client


def declined(response: httpx.Response) -> bool:
    error = response.json()["Errors"]["Error"]
    return (response.status_code, error["ReasonCode"], error["Source"]) == (
        401,
        "DECLINED",
        "Gateway",
    )


def test_request_tokens_create_and_retrieve(http: httpx.Client, pair: KeyPair) -> None:
    auth = RequestTokenAuth(EU_KEY, pair.key_pem, pair.cert_pem)
    content, headers = encode({"paymentrequest": payment_request("EU-HTTP-1")}, "json")
    created = http.post(path("/payment"), content=content, headers=headers, auth=auth)
    assert created.status_code == 200, created.text
    payment_id = created.json()["payment"]["id"]
    retrieved = http.get(path(f"/{payment_id}"), auth=auth)
    assert retrieved.status_code == 200 and retrieved.json()["payment"]["status"] == "PENDING"


def test_a_replayed_request_token_is_declined(http: httpx.Client, pair: KeyPair) -> None:
    token = bearer(pair, EU_KEY, now=int(time.time()))
    first = http.get(path("?ref=NOT-THERE"), headers={"Authorization": token})
    assert first.status_code == 404, first.text  # past the gate
    assert declined(http.get(path("?ref=NOT-THERE"), headers={"Authorization": token}))


def test_oauth1_to_the_eu_project_is_declined(
    http: httpx.Client, server: ServerProcess, workdir: Path, pair: KeyPair
) -> None:
    dev_key = load_private_key((workdir / "data" / "dev" / "signing-key.pem").read_bytes())
    url = server.base_url + path("?ref=NOT-THERE")
    header = mastercard_header(url, "GET", b"", EU_KEY, dev_key)
    assert declined(http.get(path("?ref=NOT-THERE"), headers={"Authorization": header}))


def test_a_request_token_to_the_global_dev_project_is_declined(
    http: httpx.Client, workdir: Path, pair: KeyPair
) -> None:
    dev = workdir / "data" / "dev"
    consumer_key = (dev / "consumer-key.txt").read_text().strip()
    dev_pair = KeyPair(
        (dev / "signing-key.pem").read_text(), (dev / "signing-cert.pem").read_text()
    )
    token = bearer(dev_pair, consumer_key, now=int(time.time()))
    assert declined(http.get(path("?ref=NOT-THERE"), headers={"Authorization": token}))


def test_a_request_token_on_the_balance_api_is_declined(http: httpx.Client, pair: KeyPair) -> None:
    auth = RequestTokenAuth(EU_KEY, pair.key_pem, pair.cert_pem)
    assert declined(http.get(f"/send/partners/{PARTNER}/crossborder/accounts", auth=auth))


def test_authorization_code_flow_reaches_the_balance_api(
    http: httpx.Client, pair: KeyPair, workdir: Path
) -> None:
    callback = "https://client.example/cb"
    query = {"response_type": "code", "client_id": EU_KEY, "redirect_uri": callback, "state": "s1"}
    authorized = http.get("/oauth2/authorize", params=query)
    assert authorized.status_code == 302, authorized.text
    location = httpx.URL(authorized.headers["location"])
    assert location.params["state"] == "s1"
    form = {
        "grant_type": "authorization_code",
        "code": location.params["code"],
        "redirect_uri": callback,
    }
    auth = RequestTokenAuth(EU_KEY, pair.key_pem, pair.cert_pem)
    issued = http.post("/oauth2/token", data=form, auth=auth)
    assert issued.status_code == 200, issued.text
    access = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    accounts = f"/send/partners/{PARTNER}/crossborder/accounts"
    assert http.get(accounts, headers=access).status_code == 200

    revoke = ["tokens", "revoke", "--project", EU_KEY, "--data-dir", str(workdir / "data")]
    assert CliRunner().invoke(main, revoke).exit_code == 0
    assert declined(http.get(accounts, headers=access))
