"""OAuth1Auth: Mastercard's signer over the exact bytes sent, checked with xborder's verifier."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from oauth1.oauth import OAuth

from tests.client.conftest import CONSUMER_KEY, KEYSTORE_PASSWORD, Keys
from xborder.client import OAuth1Auth, RetryPolicy, ServerError, XborderClient, load_signing_key
from xborder.errors import ConfigError
from xborder.security import oauth1
from xborder.security.errors import AuthenticationFailed
from xborder.security.keys import load_certificate, rsa_public_key

BASE = "https://sandbox.api.mastercard.com/send/v1/partners/MYBANK_SANDBOX1/crossborder"


def capture(auth: OAuth1Auth, request: httpx.Request) -> httpx.Request:
    flow = auth.sync_auth_flow(request)
    return next(flow)


def verifier(keys: Keys) -> Callable[[httpx.Request], oauth1.OAuthParams]:
    public = rsa_public_key(load_certificate(keys.signing_cert.encode()))

    def verify(request: httpx.Request) -> oauth1.OAuthParams:
        return oauth1.verify(
            request.method,
            str(request.url),
            request.headers.get("Authorization"),
            request.content,
            public_key_for=lambda key: public if key == CONSUMER_KEY else None,
            now=int(time.time()),
        )

    return verify


@pytest.fixture
def auth(keys: Keys) -> OAuth1Auth:
    return OAuth1Auth.from_file(CONSUMER_KEY, keys.signing_key)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", f"{BASE}/rem_zoALfF30XHku95_NCWQvAS24d1M", b""),
        ("GET", f"{BASE}?ref=A%2FB%3FC%23D%20%26E", b""),
        ("POST", f"{BASE}/payment", b'{"paymentrequest":{"transaction_reference":"X1"}}'),
        ("POST", f"{BASE}/A%2FB/cancel", b"<cancelpaymentrequest></cancelpaymentrequest>"),
        (
            "GET",
            "http://127.0.0.1:8080/send/partners/P1/crossborder/accounts?include_balance=true",
            b"",
        ),
    ],
)
def test_headers_verify_with_xborders_verifier(
    auth: OAuth1Auth, keys: Keys, method: str, url: str, body: bytes
) -> None:
    signed = capture(auth, httpx.Request(method, url, content=body))
    params = verifier(keys)(signed)
    assert params.consumer_key == CONSUMER_KEY
    assert params.body_hash == oauth1.body_hash(body)
    assert params.signature_method == "RSA-SHA256" and len(params.nonce) == 16


def test_the_body_hash_covers_the_bytes_sent_not_a_reserialisation(
    auth: OAuth1Auth, keys: Keys
) -> None:
    # Spacing and member order that json.dumps would not reproduce.
    sent = b'{ "paymentrequest" : {"transaction_reference":"X2",  "payment_type":"P2P"} }'
    signed = capture(auth, httpx.Request("POST", f"{BASE}/payment", content=sent))
    verifier(keys)(signed)
    reserialised = json.dumps(json.loads(sent)).encode()
    tampered = httpx.Request(
        "POST", f"{BASE}/payment", headers=signed.headers, content=reserialised
    )
    with pytest.raises(AuthenticationFailed, match="body hash"):
        verifier(keys)(tampered)


def test_a_dict_would_be_hashed_as_json_dumps_writes_it(keys: Keys) -> None:
    """Why the auth passes bytes: given a dict, the signer hashes ``json.dumps(dict)``."""
    key = load_signing_key(keys.signing_key)
    document = {"paymentrequest": {"transaction_reference": "X3"}}
    compact = json.dumps(document, separators=(",", ":")).encode()
    header = OAuth.get_authorization_header(f"{BASE}/payment", "POST", document, "k", key)
    assert oauth1.parse_authorization_header(header).body_hash != oauth1.body_hash(compact)


def test_every_send_gets_a_fresh_nonce_and_the_same_body(auth: OAuth1Auth, keys: Keys) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"Errors": {"Error": {"ReasonCode": "SYSTEM_ERROR"}}})

    client = XborderClient(
        "https://sandbox.api.mastercard.com",
        "MYBANK_SANDBOX1",
        auth=auth,
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy(attempts=3),
        sleep=lambda _s: None,
    )
    with pytest.raises(ServerError):
        client.create_payment({"transaction_reference": "X4"})
    assert len(seen) == 3
    nonces = {oauth1.parse_authorization_header(r.headers["Authorization"]).nonce for r in seen}
    assert len(nonces) == 3
    assert len({r.content for r in seen}) == 1
    for request in seen:
        verifier(keys)(request)


def test_pkcs12_and_pem_keys_load_to_the_same_key(keys: Keys) -> None:
    from_p12 = load_signing_key(keys.signing_p12, KEYSTORE_PASSWORD)
    from_pem = load_signing_key(keys.signing_key)
    assert from_p12.private_numbers() == from_pem.private_numbers()
    signed = capture(
        OAuth1Auth.from_file(CONSUMER_KEY, keys.signing_p12, KEYSTORE_PASSWORD),
        httpx.Request("GET", f"{BASE}?ref=X5"),
    )
    verifier(keys)(signed)


def test_unreadable_keys_are_configuration_errors(keys: Keys) -> None:
    with pytest.raises(ConfigError):
        OAuth1Auth.from_file(CONSUMER_KEY, keys.signing_p12, "wrong password")
    with pytest.raises(ConfigError):
        OAuth1Auth.from_file(CONSUMER_KEY, keys.directory / "missing.pem")
    with pytest.raises(ValueError, match="consumer_key"):
        OAuth1Auth("", load_signing_key(keys.signing_key))
    assert "PRIVATE" not in repr(OAuth1Auth(CONSUMER_KEY, load_signing_key(keys.signing_key)))
