"""Fixtures for the D11/D12/D13 suites: generated keys, registered projects, a signed client.

Projects registered for every in-process test:

| consumer key | environment | signing key | client-encryption cert | partners bound |
|---|---|---|---|---|
| ``SANDBOX_KEY`` | sandbox | ``signer`` | ``client`` | ``SANDBOX_BOUND1`` |
| ``PLAIN_KEY`` | sandbox | ``signer`` | none | |
| ``MTF_KEY`` | mtf | ``mtf_signer`` | ``client`` | ``MTF_PARTNER1`` |
| ``PROD_KEY`` | production | ``prod_signer`` | none | ``PROD_PARTNER1`` |

The ``psd2`` fixture adds two D23 projects beside them:

| consumer key | region | environment | key | partner bound |
|---|---|---|---|---|
| ``EU_KEY`` | eu | sandbox | ``signer`` (RSA, RS256) | |
| ``UK_KEY`` | uk | mtf | a fresh EC P-256 key (ES256) | ``UK_PARTNER`` |
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from httpx2 import Response  # what starlette.testclient answers with
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.security.psd2 import (
    KeyPair,
    add_psd2_project,
    bearer,
    ec_key_pair,
    key_pair_of,
)
from tests.payloads import PARTNER, encode, path, payment_request
from tests.signing import Party, make_party, mastercard_header
from xborder.api.app import create_app
from xborder.clock import FixedClock, SystemClock
from xborder.config import Settings
from xborder.domain.projects import Environment, Region
from xborder.security.keys import load_certificate, load_private_key
from xborder.security.keystore import CERT_SUFFIX, ServerKeyStore
from xborder.services import projects
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

SANDBOX_KEY = "sandbox-project!0123456789abcdef"
PLAIN_KEY = "plain-project!fedcba9876543210"
MTF_KEY = "mtf-project!00112233445566778899"
PROD_KEY = "prod-project!99887766554433221100"
BASE = "http://testserver"
MTF_PARTNER = "MTF_PARTNER1"
PROD_PARTNER = "PROD_PARTNER1"
SANDBOX_BOUND = "SANDBOX_BOUND1"


@dataclass(frozen=True)
class Keys:
    """Every key of the suites, generated once per test session into a temporary directory."""

    signer: Party
    client: Party
    stranger: Party
    mtf_signer: Party
    prod_signer: Party
    server: Party  # the server's primary encryption key: clients encrypt to its certificate
    server_dir: Path


def server_party(server_dir: Path) -> Party:
    kid = (server_dir / "primary").read_text().strip()
    key_path, cert_path = server_dir / f"{kid}.key.pem", server_dir / f"{kid}{CERT_SUFFIX}"
    key = load_private_key(key_path.read_bytes())
    return Party(key, load_certificate(cert_path), key_path, cert_path)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    server_dir = folder / "server"
    ServerKeyStore(server_dir).ensure()
    return Keys(
        signer=make_party(folder, "signer"),
        client=make_party(folder, "client"),
        stranger=make_party(folder, "stranger"),
        mtf_signer=make_party(folder, "mtf-signer"),
        prod_signer=make_party(folder, "prod-signer"),
        server=server_party(server_dir),
        server_dir=server_dir,
    )


def register_projects(uow_factory: SqlAlchemyUowFactory, keys: Keys) -> None:
    """The projects and bindings of the module docstring."""
    clock = SystemClock()
    table = [
        (SANDBOX_KEY, Environment.SANDBOX, keys.signer, keys.client, SANDBOX_BOUND),
        (PLAIN_KEY, Environment.SANDBOX, keys.signer, None, None),
        (MTF_KEY, Environment.MTF, keys.mtf_signer, keys.client, MTF_PARTNER),
        (PROD_KEY, Environment.PRODUCTION, keys.prod_signer, None, PROD_PARTNER),
    ]
    for consumer_key, environment, signer, client, partner in table:
        projects.add_project(
            consumer_key,
            environment,
            signer.cert_pem,
            client.cert_pem if client else None,
            uow_factory=uow_factory,
            clock=clock,
        )
        if partner:
            projects.bind_partner(partner, consumer_key, uow_factory=uow_factory, clock=clock)


@pytest.fixture
def signed_settings(settings: Settings, keys: Keys) -> Settings:
    """Authentication on; the session's server keys copied into this test's data directory."""
    shutil.copytree(keys.server_dir, settings.keys_dir)
    return dataclasses.replace(settings, auth=True)


@pytest.fixture
def registered(engine: Engine, keys: Keys) -> None:
    register_projects(SqlAlchemyUowFactory(engine), keys)


@dataclass
class Api:
    """A test client that signs like Mastercard's signer, with knobs to break the signature."""

    http: TestClient
    keys: Keys

    def call(
        self,
        method: str,
        suffix: str = "",
        body: bytes = b"",
        *,
        partner: str = PARTNER,
        consumer_key: str = SANDBOX_KEY,
        key: Party | None = None,
        headers: dict[str, str] | None = None,
        sign: Callable[[str, str, bytes], str] | None = None,
    ) -> Response:
        """Send a request signed for exactly what is sent, unless ``sign`` says otherwise."""
        target = path(suffix, partner=partner)
        signer = (key or self.keys.signer).key
        authorization = (
            sign(method, BASE + target, body)
            if sign
            else mastercard_header(BASE + target, method, body, consumer_key, signer)
        )
        all_headers = {"Authorization": authorization, **(headers or {})}
        return self.http.request(method, target, content=body or None, headers=all_headers)

    def create(self, reference: str, fmt: str = "json", **kwargs: Any) -> Response:
        content, headers = encode({"paymentrequest": payment_request(reference)}, fmt)
        return self.call("POST", "/payment", content, headers=headers, **kwargs)


@pytest.fixture
def api(
    signed_settings: Settings, engine: Engine, clock: FixedClock, registered: None, keys: Keys
) -> Iterator[Api]:
    app = create_app(signed_settings, engine=engine, clock=clock)
    with TestClient(app, base_url=BASE) as http:
        yield Api(http, keys)


def gateway_error(response: Response) -> tuple[int, str]:
    """Status and ReasonCode of a D11 answer, checking the rest of the envelope."""
    error = response.json()["Errors"]["Error"]
    assert error["Source"] == "Gateway", error
    assert error["Details"] is None and error["RequestId"] is None, error
    assert error["Recoverable"] == "false"
    assert "x-encrypted" not in response.headers
    return response.status_code, str(error["ReasonCode"])


# --- D23: an eu and a uk project --------------------------------------------------------

EU_KEY = "eu-project!0123456789abcdef"
UK_KEY = "uk-project!fedcba9876543210"
UK_PARTNER = "UK_PARTNER1"
RETRIEVE = "?ref=NOT-THERE"  # 404 Source GetPayment proves the request got past the gate
DECLINED = (401, "DECLINED")
INVALID = (400, "INVALID_AUTH_HEADER")
FAILED = (403, "AUTHENTICATION_FAILED")


class Psd2:
    """The EU and UK projects' key pairs and a way to send with any Authorization value."""

    def __init__(self, api: Api, eu: KeyPair, uk: KeyPair) -> None:
        self.api, self.eu, self.uk = api, eu, uk

    def send(
        self,
        authorization: str | None,
        suffix: str = RETRIEVE,
        *,
        method: str = "GET",
        body: bytes = b"",
        partner: str = PARTNER,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        if authorization is not None:
            all_headers["Authorization"] = authorization
        target = path(suffix, partner=partner)
        return self.api.http.request(method, target, content=body or None, headers=all_headers)

    def eu_token(self, *, now: int | None = None, jti: str | None = None) -> str:
        return bearer(self.eu, EU_KEY, now=int(time.time()) if now is None else now, jti=jti)

    def uk_token(self) -> str:
        return bearer(self.uk, UK_KEY, now=int(time.time()))


@pytest.fixture(scope="module")
def uk_pair() -> KeyPair:
    return ec_key_pair("uk signer")


@pytest.fixture
def psd2(api: Api, engine: Engine, uk_pair: KeyPair) -> Iterator[Psd2]:
    uow_factory = SqlAlchemyUowFactory(engine)
    eu = key_pair_of(api.keys.signer)
    add_psd2_project(uow_factory, EU_KEY, eu.cert_pem, region=Region.EU)
    add_psd2_project(
        uow_factory,
        UK_KEY,
        uk_pair.cert_pem,
        region=Region.UK,
        environment=Environment.MTF,
        partner=UK_PARTNER,
    )
    yield Psd2(api, eu, uk_pair)


def past_the_gate(response: Response) -> bool:
    return (
        response.status_code == 404 and response.json()["Errors"]["Error"]["Source"] == "GetPayment"
    )
