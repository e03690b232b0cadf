"""D23 against an independent implementation: every request token here is built with PyJWT
(and the ``cryptography`` package), never with jwcrypto, which the server verifies with, nor
with xborder's own ``make_request_token``. The tokens have the shape Mastercard's OAuth 2.0
reference client writes (``Oauth2RequestTokenGenerator``):

- header ``alg`` RS256 or ES256, ``typ`` ``JWT``, ``cty`` ``JWS``, ``kid`` the consumer key,
  ``x5t#S256`` the RFC 7638 JWK thumbprint of the public key (computed here by hand, from the
  RFC's text), ``x5c`` the signing certificate alone as base64 DER;
- claims ``iat`` = ``nbf`` = now, ``exp`` = now + 15 minutes, ``jti`` 32 lowercase hex digits.

The in-process part runs every row of D23's table on SQLite and PostgreSQL with the
conftest's ``psd2`` projects; the last part repeats the accept path and one refusal per
status over real HTTP (``xborder serve`` in a subprocess).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.e2e.security.conftest import (
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
from tests.e2e.security.psd2 import KeyPair, ec_key_pair, eu_project_of_server, rsa_key_pair
from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, encode, path, payment_request
from tests.signing import mastercard_header

LIFETIME = 15 * 60  # the reference client's
TOLERANCE = 5 * 60  # D23's clock tolerance
ACCOUNTS = f"/send/partners/{PARTNER}/crossborder/accounts"


# --- the tokens, built with PyJWT ------------------------------------------------------------


def _b64url(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _ec_coordinate(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode("ascii")


def jwk_thumbprint(public_key: Any) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, without whitespace."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        members = {"e": _b64url(numbers.e), "kty": "RSA", "n": _b64url(numbers.n)}
    else:
        point = public_key.public_numbers()
        members = {
            "crv": "P-256",
            "kty": "EC",
            "x": _ec_coordinate(point.x),
            "y": _ec_coordinate(point.y),
        }
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def reference_header(pair: KeyPair, consumer_key: str) -> dict[str, Any]:
    """The JOSE header of the reference client, ``alg`` apart (PyJWT writes it)."""
    certificate = x509.load_pem_x509_certificate(pair.cert_pem.encode("ascii"))
    der = certificate.public_bytes(serialization.Encoding.DER)
    return {
        "typ": "JWT",
        "cty": "JWS",
        "kid": consumer_key,
        "x5t#S256": jwk_thumbprint(certificate.public_key()),
        "x5c": [base64.b64encode(der).decode("ascii")],
    }


def reference_claims(now: int, *, lifetime: int = LIFETIME) -> dict[str, Any]:
    return {"iat": now, "nbf": now, "exp": now + lifetime, "jti": secrets.token_hex(16)}


def algorithm_of(pair: KeyPair) -> str:
    key = serialization.load_pem_private_key(pair.key_pem.encode("ascii"), password=None)
    return "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"


def pyjwt_token(
    pair: KeyPair,
    consumer_key: str,
    *,
    now: int | None = None,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    signer: KeyPair | None = None,
) -> str:
    """``Bearer <request token>`` signed by PyJWT with ``signer`` (default: ``pair``), its
    header and claims those of the reference client for ``pair``, changed by ``header`` and
    ``claims`` (a value of None drops the member)."""
    moment = int(time.time()) if now is None else now
    all_header = reference_header(pair, consumer_key) | (header or {})
    all_claims = {
        name: value
        for name, value in (reference_claims(moment) | (claims or {})).items()
        if value is not None
    }
    signing = signer or pair
    token = jwt.encode(
        all_claims,
        signing.key_pem,
        algorithm=algorithm_of(signing),
        # PyJWT writes typ JWT unless told None, which it then leaves out
        headers={
            name: value for name, value in all_header.items() if value is not None or name == "typ"
        },
    )
    return f"Bearer {token}"


def unverified_header(authorization: str) -> dict[str, Any]:
    return jwt.get_unverified_header(authorization.removeprefix("Bearer "))


def eu(psd2: Psd2, **kwargs: Any) -> str:
    return pyjwt_token(psd2.eu, EU_KEY, **kwargs)


def uk(psd2: Psd2, **kwargs: Any) -> str:
    return pyjwt_token(psd2.uk, UK_KEY, **kwargs)


def test_the_tokens_have_the_reference_clients_shape(psd2: Psd2) -> None:
    """The builder itself: PyJWT kept every member the reference client writes."""
    for authorization, alg, consumer_key in (
        (eu(psd2), "RS256", EU_KEY),
        (uk(psd2), "ES256", UK_KEY),
    ):
        header = unverified_header(authorization)
        assert header["alg"] == alg and header["kid"] == consumer_key
        assert (header["typ"], header["cty"]) == ("JWT", "JWS")
        assert len(header["x5c"]) == 1 and len(header["x5t#S256"]) == 43
        claims = jwt.decode(authorization[7:], options={"verify_signature": False})
        assert claims["iat"] == claims["nbf"] == claims["exp"] - LIFETIME
        assert len(claims["jti"]) == 32 and claims["jti"] == claims["jti"].lower()
        int(claims["jti"], 16)


# --- accepted --------------------------------------------------------------------------------


def test_rs256_tokens_create_retrieve_and_cancel(psd2: Psd2) -> None:
    content, headers = encode({"paymentrequest": payment_request("PYJWT-EU-1")}, "json")
    created = psd2.send(eu(psd2), "/payment", method="POST", body=content, headers=headers)
    assert created.status_code == 200, created.text
    payment_id = created.json()["payment"]["id"]
    retrieved = psd2.send(eu(psd2), f"/{payment_id}")
    assert retrieved.status_code == 200 and retrieved.json()["payment"]["status"] == "PENDING"
    cancelled = psd2.send(eu(psd2), f"/{payment_id}/cancel", method="POST")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json() == {"cancelpayment": {"status": "SUCCESS"}}


def test_es256_tokens_create_and_cancel_for_a_uk_partner(psd2: Psd2) -> None:
    content, headers = encode({"paymentrequest": payment_request("PYJWT-UK-1")}, "json")
    created = psd2.send(
        uk(psd2), "/payment", method="POST", body=content, headers=headers, partner=UK_PARTNER
    )
    assert created.status_code == 200, created.text
    cancelled = psd2.send(uk(psd2), "/PYJWT-UK-1/cancel", method="POST", partner=UK_PARTNER)
    assert cancelled.json() == {"cancelpayment": {"status": "SUCCESS"}}


def test_a_token_without_the_optional_thumbprint_or_cty_is_accepted(psd2: Psd2) -> None:
    assert past_the_gate(psd2.send(eu(psd2, header={"x5t#S256": None, "cty": None})))


@pytest.mark.parametrize("offset", [-LIFETIME - TOLERANCE + 5, TOLERANCE - 5])
def test_tokens_within_the_clock_tolerance_are_accepted(psd2: Psd2, offset: int) -> None:
    assert past_the_gate(psd2.send(eu(psd2, now=int(time.time()) + offset)))


# --- 400 INVALID_AUTH_HEADER -----------------------------------------------------------------


def test_an_hmac_token_is_400(psd2: Psd2) -> None:
    header = reference_header(psd2.eu, EU_KEY)
    token = jwt.encode(reference_claims(int(time.time())), "shared-secret" * 3, "HS256", header)
    assert gateway_error(psd2.send(f"Bearer {token}")) == INVALID


def test_a_token_without_the_bearer_scheme_is_400(psd2: Psd2) -> None:
    assert gateway_error(psd2.send(eu(psd2).removeprefix("Bearer "))) == INVALID


@pytest.mark.parametrize(
    ("header", "claims"),
    [
        ({"typ": None}, {}),
        ({"typ": "at+jwt"}, {}),
        ({"kid": None}, {}),
        ({}, {"jti": None}),
        ({}, {"exp": None}),
        ({}, {"iat": "yesterday"}),
    ],
    ids=["no-typ", "other-typ", "no-kid", "no-jti", "no-exp", "iat-not-a-date"],
)
def test_a_malformed_header_or_claim_is_400(
    psd2: Psd2, header: dict[str, Any], claims: dict[str, Any]
) -> None:
    assert gateway_error(psd2.send(eu(psd2, header=header, claims=claims))) == INVALID


# --- 401 DECLINED ----------------------------------------------------------------------------


def test_unknown_kid_is_401(psd2: Psd2) -> None:
    token = pyjwt_token(psd2.eu, "nobody-registered-this")
    assert gateway_error(psd2.send(token)) == DECLINED


def test_expired_is_401(psd2: Psd2) -> None:
    token = eu(psd2, now=int(time.time()) - LIFETIME - TOLERANCE - 1)
    assert gateway_error(psd2.send(token)) == DECLINED


def test_not_yet_valid_is_401(psd2: Psd2) -> None:
    now = int(time.time()) + TOLERANCE + 60
    assert gateway_error(psd2.send(eu(psd2, now=now))) == DECLINED
    later_nbf = {"nbf": int(time.time()) + TOLERANCE + 60}  # iat now, nbf in the future
    assert gateway_error(psd2.send(eu(psd2, claims=later_nbf))) == DECLINED


def test_lifetime_longer_than_15_minutes_is_401(psd2: Psd2) -> None:
    now = int(time.time())
    assert gateway_error(psd2.send(eu(psd2, claims={"exp": now + LIFETIME + 1}))) == DECLINED


def test_jti_replay_is_401(psd2: Psd2) -> None:
    token = eu(psd2)
    assert past_the_gate(psd2.send(token))
    assert gateway_error(psd2.send(token)) == DECLINED
    # the same jti in a new token (another iat) is the same replay
    jti = jwt.decode(token[7:], options={"verify_signature": False})["jti"]
    again = eu(psd2, now=int(time.time()) + 1, claims={"jti": jti})
    assert gateway_error(psd2.send(again)) == DECLINED


@pytest.mark.parametrize(
    ("partner", "region"),
    [
        (MTF_PARTNER, "eu"),  # a sandbox project never reaches an mtf partner (D13)
        (PARTNER, "uk"),  # an mtf project reaches only the partners bound to it
    ],
)
def test_not_entitled_is_401(psd2: Psd2, partner: str, region: str) -> None:
    token = eu(psd2) if region == "eu" else uk(psd2)
    assert gateway_error(psd2.send(token, partner=partner)) == DECLINED


@pytest.mark.parametrize(("consumer_key", "partner"), [(EU_KEY, PARTNER), (UK_KEY, UK_PARTNER)])
def test_oauth1_header_to_an_eu_or_uk_project_is_401(
    psd2: Psd2, consumer_key: str, partner: str
) -> None:
    target = "http://testserver" + path(RETRIEVE, partner=partner)
    header = mastercard_header(target, "GET", b"", consumer_key, psd2.api.keys.signer.key)
    assert gateway_error(psd2.send(header, partner=partner)) == DECLINED


def test_bearer_token_to_a_global_project_is_401(psd2: Psd2) -> None:
    token = pyjwt_token(psd2.eu, SANDBOX_KEY)  # SANDBOX_KEY's own key and certificate
    assert gateway_error(psd2.send(token)) == DECLINED


def test_request_token_on_the_balance_api_is_401(psd2: Psd2) -> None:
    response = psd2.api.http.get(ACCOUNTS, headers={"Authorization": eu(psd2)})
    assert gateway_error(response) == DECLINED


# --- 403 AUTHENTICATION_FAILED ---------------------------------------------------------------


def test_signature_by_another_key_is_403(psd2: Psd2) -> None:
    """x5c and thumbprint of the registered certificate, signed by a stranger."""
    stranger = rsa_key_pair("pyjwt stranger")
    assert gateway_error(psd2.send(eu(psd2, signer=stranger))) == FAILED


def test_tampered_claims_are_403(psd2: Psd2) -> None:
    header, _claims, signature = eu(psd2)[7:].split(".")
    forged_claims = jwt.encode(reference_claims(int(time.time()) + 1), "k" * 32, "HS256")
    claims = forged_claims.split(".")[1]
    assert gateway_error(psd2.send(f"Bearer {header}.{claims}.{signature}")) == FAILED


def test_x5c_of_another_certificate_is_403(psd2: Psd2) -> None:
    stranger = ec_key_pair("pyjwt stranger ec")
    token = pyjwt_token(stranger, UK_KEY)  # a consistent token, of the wrong certificate
    assert gateway_error(psd2.send(token, partner=UK_PARTNER)) == FAILED


def test_missing_x5c_is_403(psd2: Psd2) -> None:
    assert gateway_error(psd2.send(eu(psd2, header={"x5c": None}))) == FAILED


def test_wrong_thumbprint_is_403(psd2: Psd2) -> None:
    stranger = rsa_key_pair("pyjwt thumbprint")
    certificate = x509.load_pem_x509_certificate(stranger.cert_pem.encode("ascii"))
    wrong = jwk_thumbprint(certificate.public_key())
    assert gateway_error(psd2.send(eu(psd2, header={"x5t#S256": wrong}))) == FAILED


# --- over real HTTP --------------------------------------------------------------------------

HTTP_EU_KEY = "eu-pyjwt-http!4d5e6f7a"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("psd2-pyjwt-http")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    with running_server(workdir) as running:
        yield running


@pytest.fixture(scope="module")
def http_pair(server: ServerProcess, workdir: Path) -> KeyPair:
    """An eu sandbox project added to the running server's database."""
    return eu_project_of_server(workdir / "data", HTTP_EU_KEY, "eu pyjwt over http")


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15.0, trust_env=False) as client:
        yield client


def http_error(response: httpx.Response) -> tuple[int, str]:
    error = response.json()["Errors"]["Error"]
    assert error["Source"] == "Gateway", error
    return response.status_code, str(error["ReasonCode"])


def test_over_http_pyjwt_tokens_create_retrieve_and_cancel(
    http: httpx.Client, http_pair: KeyPair
) -> None:
    def auth() -> dict[str, str]:
        return {"Authorization": pyjwt_token(http_pair, HTTP_EU_KEY)}

    content, headers = encode({"paymentrequest": payment_request("PYJWT-HTTP-1")}, "json")
    created = http.post(path("/payment"), content=content, headers=headers | auth())
    assert created.status_code == 200, created.text
    payment_id = created.json()["payment"]["id"]
    assert http.get(path(f"/{payment_id}"), headers=auth()).status_code == 200
    cancelled = http.post(path(f"/{payment_id}/cancel"), headers=auth())
    assert cancelled.json() == {"cancelpayment": {"status": "SUCCESS"}}


def test_over_http_each_status_of_the_table(http: httpx.Client, http_pair: KeyPair) -> None:
    def send(authorization: str) -> tuple[int, str]:
        return http_error(http.get(path(RETRIEVE), headers={"Authorization": authorization}))

    no_kid = pyjwt_token(http_pair, HTTP_EU_KEY, header={"kid": None})
    assert send(no_kid) == INVALID
    expired = pyjwt_token(http_pair, HTTP_EU_KEY, now=int(time.time()) - 3600)
    assert send(expired) == DECLINED
    stranger = rsa_key_pair("pyjwt http stranger")
    assert send(pyjwt_token(http_pair, HTTP_EU_KEY, signer=stranger)) == FAILED
