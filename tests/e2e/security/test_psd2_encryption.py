"""D23 with D12 and D20: payload encryption works unchanged in the EU and UK regions, on
SQLite and PostgreSQL. Requests are authenticated by request tokens and their bodies are
encrypted by Mastercard's ``client_encryption`` library, which also decrypts every answer.

| consumer key | region | encryption policy | signing key | client-encryption cert |
|---|---|---|---|---|
| ``EU_ENC_KEY`` | eu | optional | a fresh RSA key (RS256) | ``keys.client`` |
| ``UK_ENC_KEY`` | uk | required (D20) | a fresh EC P-256 key (ES256) | ``keys.client`` |
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from httpx2 import Response
from sqlalchemy.engine import Engine

from tests.e2e.security.conftest import FAILED, Api, Keys, gateway_error
from tests.e2e.security.psd2 import (
    KeyPair,
    add_psd2_project,
    bearer,
    ec_key_pair,
    rsa_key_pair,
)
from tests.payloads import PARTNER, encode, path, payment_request
from tests.signing import mastercard_decrypt, mastercard_encrypt, mastercard_jwe
from xborder.domain.projects import EncryptionPolicy, Region
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

EU_ENC_KEY = "eu-encrypting!0a1b2c3d4e5f"
UK_ENC_KEY = "uk-encrypting!5f4e3d2c1b0a"
ENCRYPTED = {"Content-Type": "application/json", "x-encrypted": "true"}
MUST_BE_ENCRYPTED = ("Encrypted Payload", "INVALID_INPUT_FORMAT", "062000")


class Projects:
    """The two projects of the module docstring and a way to call as either."""

    def __init__(self, api: Api, pairs: dict[str, tuple[str, KeyPair]]) -> None:
        self.api, self.pairs = api, pairs

    def send(
        self,
        region: str,
        method: str,
        suffix: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        signer: KeyPair | None = None,
    ) -> Response:
        consumer_key, pair = self.pairs[region]
        authorization = bearer(signer or pair, consumer_key, now=int(time.time()))
        all_headers = {"Authorization": authorization, **(headers or {})}
        return self.api.http.request(
            method, path(suffix, partner=PARTNER), content=body or None, headers=all_headers
        )


@pytest.fixture(scope="module")
def oracle(keys: Keys) -> Any:
    return mastercard_jwe(keys.server.cert_path, keys.client.key_path)


@pytest.fixture(scope="module")
def signing_pairs() -> dict[str, KeyPair]:
    return {"eu": rsa_key_pair("eu encrypting"), "uk": ec_key_pair("uk encrypting")}


@pytest.fixture
def regions(api: Api, engine: Engine, signing_pairs: dict[str, KeyPair]) -> Projects:
    uow_factory = SqlAlchemyUowFactory(engine)
    client_cert = api.keys.client.cert_pem
    add_psd2_project(
        uow_factory,
        EU_ENC_KEY,
        signing_pairs["eu"].cert_pem,
        region=Region.EU,
        encryption_cert_pem=client_cert,
    )
    add_psd2_project(
        uow_factory,
        UK_ENC_KEY,
        signing_pairs["uk"].cert_pem,
        region=Region.UK,
        encryption_cert_pem=client_cert,
        encryption=EncryptionPolicy.REQUIRED,
    )
    pairs = {"eu": (EU_ENC_KEY, signing_pairs["eu"]), "uk": (UK_ENC_KEY, signing_pairs["uk"])}
    return Projects(api, pairs)


def opened(response: Response, oracle: Any) -> dict[str, Any]:
    """A success answer, decrypted by Mastercard's library."""
    assert response.status_code == 200, response.text
    assert response.headers["x-encrypted"] == "true"
    return mastercard_decrypt(response.content, oracle)


def encrypted_create(regions: Projects, region: str, oracle: Any, reference: str) -> Response:
    body = mastercard_encrypt({"paymentrequest": payment_request(reference)}, oracle)
    return regions.send(region, "POST", "/payment", body, ENCRYPTED)


def refusal(response: Response) -> tuple[str, str, str]:
    assert response.status_code == 400, response.text
    assert "x-encrypted" not in response.headers
    error = response.json()["Errors"]["Error"]
    return error["Source"], error["ReasonCode"], error["Details"]["Detail"]["Value"]


@pytest.mark.parametrize("region", ["eu", "uk"])
def test_encrypted_create_and_cancel_are_answered_encrypted(
    regions: Projects, oracle: Any, region: str
) -> None:
    reference = f"JWE-{region.upper()}-1"
    payment = opened(encrypted_create(regions, region, oracle, reference), oracle)["payment"]
    assert payment["transaction_reference"] == reference and payment["status"] == "PENDING"
    body = mastercard_encrypt({"cancelpaymentrequest": ""}, oracle)
    cancelled = regions.send(region, "POST", f"/{payment['id']}/cancel", body, ENCRYPTED)
    assert opened(cancelled, oracle) == {"cancelpayment": {"status": "SUCCESS"}}


def test_an_eu_project_with_optional_encryption_still_takes_plain_bodies(
    regions: Projects,
) -> None:
    content, headers = encode({"paymentrequest": payment_request("JWE-EU-PLAIN")}, "json")
    created = regions.send("eu", "POST", "/payment", content, headers)
    assert created.status_code == 200 and "x-encrypted" not in created.headers
    retrieved = regions.send("eu", "GET", "?ref=JWE-EU-PLAIN")
    assert retrieved.json()["payment"]["status"] == "PENDING"


def test_a_required_uk_project_refuses_a_plain_create_and_creates_nothing(
    regions: Projects, oracle: Any
) -> None:
    content, headers = encode({"paymentrequest": payment_request("JWE-UK-PLAIN")}, "json")
    assert refusal(regions.send("uk", "POST", "/payment", content, headers)) == MUST_BE_ENCRYPTED
    missing = regions.send("uk", "GET", "?ref=JWE-UK-PLAIN")
    assert missing.status_code == 404 and "x-encrypted" not in missing.headers


def test_a_required_uk_project_refuses_a_plain_cancel(regions: Projects, oracle: Any) -> None:
    assert opened(encrypted_create(regions, "uk", oracle, "JWE-UK-KEEP"), oracle)
    body = json.dumps({"cancelpaymentrequest": ""}).encode()
    plain = regions.send(
        "uk", "POST", "/JWE-UK-KEEP/cancel", body, {"Content-Type": "application/json"}
    )
    assert refusal(plain) == MUST_BE_ENCRYPTED
    kept = opened(regions.send("uk", "GET", "?ref=JWE-UK-KEEP"), oracle)  # D20: sealed
    assert kept["payment"]["status"] == "PENDING"


def test_authentication_comes_before_decryption(regions: Projects, oracle: Any) -> None:
    stranger = rsa_key_pair("jwe stranger")
    body = mastercard_encrypt({"paymentrequest": payment_request("JWE-STRANGER")}, oracle)
    response = regions.send("eu", "POST", "/payment", body, ENCRYPTED, signer=stranger)
    assert gateway_error(response) == FAILED
