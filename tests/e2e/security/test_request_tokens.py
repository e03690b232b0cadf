"""D23 through the in-process app: every row of the request-token error table, on SQLite and
PostgreSQL. Tokens are made as Mastercard's reference client makes them
(``make_request_token``) or forged with jwcrypto where a row needs a broken one.

Projects added by the conftest's ``psd2`` fixture, beside its global ones:

| consumer key | region | environment | key | partner bound |
|---|---|---|---|---|
| ``EU_KEY`` | eu | sandbox | ``keys.signer`` (RSA, RS256) | |
| ``UK_KEY`` | uk | mtf | a fresh EC P-256 key (ES256) | ``UK_PARTNER`` |
"""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.security.conftest import (
    BASE,
    DECLINED,
    EU_KEY,
    FAILED,
    INVALID,
    MTF_PARTNER,
    RETRIEVE,
    SANDBOX_KEY,
    UK_KEY,
    UK_PARTNER,
    Psd2,
    gateway_error,
    past_the_gate,
)
from tests.e2e.security.psd2 import bearer, forged, rsa_key_pair, x5c
from tests.payloads import PARTNER, encode, path, payment_request
from tests.signing import mastercard_header
from xborder.api.app import create_app
from xborder.config import Settings
from xborder.security.request_token import DEFAULT_TOLERANCE
from xborder.storage.tables import nonces

# --- accepted --------------------------------------------------------------------------------


def test_rs256_request_token_creates_retrieves_and_cancels(psd2: Psd2) -> None:
    content, headers = encode({"paymentrequest": payment_request("EU-TOKEN-1")}, "json")
    created = psd2.send(psd2.eu_token(), "/payment", method="POST", body=content, headers=headers)
    assert created.status_code == 200, created.text
    payment_id = created.json()["payment"]["id"]
    assert psd2.send(psd2.eu_token(), f"/{payment_id}").status_code == 200
    cancelled = psd2.send(psd2.eu_token(), f"/{payment_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"cancelpayment": {"status": "SUCCESS"}}


def test_es256_request_token_of_an_mtf_project_reaches_its_partner(psd2: Psd2) -> None:
    assert past_the_gate(psd2.send(psd2.uk_token(), partner=UK_PARTNER))


def test_jti_is_recorded_in_the_request_transaction_until_the_token_expires(
    psd2: Psd2, engine: Engine
) -> None:
    now = int(time.time())
    jti = secrets.token_hex(16)
    assert past_the_gate(psd2.send(psd2.eu_token(now=now, jti=jti)))
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(nonces.c.timestamp).where(
                nonces.c.consumer_key == EU_KEY, nonces.c.nonce == jti
            )
        ).all()
    # stamped with the end of the token's acceptance (exp + tolerance), so the nonce purge
    # (rows older than tolerance + 60 s) keeps it as long as the token could be replayed
    assert [row.timestamp for row in rows] == [now + 900 + DEFAULT_TOLERANCE]


# --- 400 INVALID_AUTH_HEADER -----------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b",
        "Bearer e30.e30.",  # two empty JSON objects, no signature
    ],
)
def test_missing_or_malformed_bearer_is_400(psd2: Psd2, authorization: str | None) -> None:
    assert gateway_error(psd2.send(authorization)) == INVALID


def test_hmac_alg_is_400(psd2: Psd2) -> None:
    now = int(time.time())
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": EU_KEY})
    claims = _b64({"iat": now, "nbf": now, "exp": now + 900, "jti": secrets.token_hex(16)})
    assert gateway_error(psd2.send(f"Bearer {header}.{claims}.c2lnbmF0dXJl")) == INVALID


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# --- 401 DECLINED ----------------------------------------------------------------------------


def test_unknown_kid_is_401(psd2: Psd2) -> None:
    token = bearer(psd2.eu, "nobody-registered-this", now=int(time.time()))
    assert gateway_error(psd2.send(token)) == DECLINED


@pytest.mark.parametrize("offset", [-900 - DEFAULT_TOLERANCE - 1, DEFAULT_TOLERANCE + 60])
def test_expired_or_not_yet_valid_is_401(psd2: Psd2, offset: int) -> None:
    token = psd2.eu_token(now=int(time.time()) + offset)
    assert gateway_error(psd2.send(token)) == DECLINED


def test_token_living_longer_than_15_minutes_is_401(psd2: Psd2) -> None:
    now = int(time.time())
    header = {"typ": "JWT", "kid": EU_KEY, "x5c": [x5c(psd2.eu)]}
    claims = {"iat": now, "nbf": now, "exp": now + 901, "jti": secrets.token_hex(16)}
    assert gateway_error(psd2.send(forged(psd2.eu, header, claims))) == DECLINED


def test_jti_seen_before_is_401_even_after_a_refused_request(psd2: Psd2) -> None:
    token = psd2.eu_token()
    assert past_the_gate(psd2.send(token))  # a refusal after the gate consumes the jti
    assert gateway_error(psd2.send(token)) == DECLINED


def test_jti_is_single_use_across_processes(
    psd2: Psd2, signed_settings: Settings, engine: Engine
) -> None:
    """A second app (another process) has never seen the jti: the database refuses it."""
    token = psd2.eu_token()
    assert past_the_gate(psd2.send(token))
    other_app = create_app(signed_settings, engine=engine)
    with TestClient(other_app, base_url=BASE) as other:
        replay = other.get(path(RETRIEVE), headers={"Authorization": token})
    assert gateway_error(replay) == DECLINED


@pytest.mark.parametrize(
    ("partner", "token_of"),
    [
        (MTF_PARTNER, "eu"),  # a sandbox project never reaches an mtf partner (D13)
        (PARTNER, "uk"),  # an mtf project reaches only the partners bound to it
    ],
)
def test_not_entitled_is_401(psd2: Psd2, partner: str, token_of: str) -> None:
    token = psd2.eu_token() if token_of == "eu" else psd2.uk_token()
    assert gateway_error(psd2.send(token, partner=partner)) == DECLINED


def test_oauth1_header_to_an_eu_project_is_401(psd2: Psd2) -> None:
    target = BASE + path(RETRIEVE)
    header = mastercard_header(target, "GET", b"", EU_KEY, psd2.api.keys.signer.key)
    assert gateway_error(psd2.send(header)) == DECLINED


def test_oauth1_header_to_a_uk_project_with_an_ec_key_is_401_not_500(psd2: Psd2) -> None:
    target = BASE + path(RETRIEVE, partner=UK_PARTNER)
    header = mastercard_header(target, "GET", b"", UK_KEY, psd2.api.keys.signer.key)
    assert gateway_error(psd2.send(header, partner=UK_PARTNER)) == DECLINED


def test_bearer_token_to_a_global_project_is_401(psd2: Psd2) -> None:
    token = bearer(psd2.eu, SANDBOX_KEY, now=int(time.time()))  # SANDBOX_KEY's own key
    assert gateway_error(psd2.send(token)) == DECLINED


def test_global_project_still_signs_with_oauth1(psd2: Psd2) -> None:
    target = BASE + path(RETRIEVE)
    header = mastercard_header(target, "GET", b"", SANDBOX_KEY, psd2.api.keys.signer.key)
    assert past_the_gate(psd2.send(header))


def test_request_token_on_the_balance_api_is_401(psd2: Psd2) -> None:
    response = psd2.api.http.get(
        f"/send/partners/{PARTNER}/crossborder/accounts",
        headers={"Authorization": psd2.eu_token()},
    )
    assert gateway_error(response) == DECLINED


# --- 403 AUTHENTICATION_FAILED ---------------------------------------------------------------


def test_x5c_of_another_certificate_is_403(psd2: Psd2) -> None:
    stranger = rsa_key_pair("stranger")
    assert gateway_error(psd2.send(bearer(stranger, EU_KEY, now=int(time.time())))) == FAILED


def test_tampered_claims_fail_the_signature_with_403(psd2: Psd2) -> None:
    header, _claims, signature = psd2.eu_token()[7:].split(".")
    now = int(time.time())
    claims = _b64({"iat": now, "nbf": now, "exp": now + 60, "jti": secrets.token_hex(16)})
    assert gateway_error(psd2.send(f"Bearer {header}.{claims}.{signature}")) == FAILED


def test_wrong_thumbprint_is_403(psd2: Psd2) -> None:
    now = int(time.time())
    header = {"typ": "JWT", "kid": EU_KEY, "x5c": [x5c(psd2.eu)], "x5t#S256": "A" * 43}
    claims = {"iat": now, "nbf": now, "exp": now + 900, "jti": secrets.token_hex(16)}
    assert gateway_error(psd2.send(forged(psd2.eu, header, claims))) == FAILED
