"""D12 through the in-process app: requests encrypted by Mastercard's client-encryption library
(JSON) or by xborder's JWE (XML, which that library cannot encrypt), responses decrypted by
both, and every way an encrypted payload can be refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from httpx2 import Response  # what starlette.testclient answers with
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from tests.e2e.security.conftest import MTF_KEY, MTF_PARTNER, PLAIN_KEY, Api, Keys
from tests.payloads import encode, payment_request
from tests.signing import (
    MEDIA,
    Party,
    mastercard_decrypt,
    mastercard_encrypt,
    mastercard_jwe,
    our_decrypt,
    our_encrypt,
    unwrap,
    wrap,
)
from xborder.api.codecs import JSON, XML
from xborder.security import jwe
from xborder.security.keys import fingerprint
from xborder.security.keystore import ServerKeyStore

GOLDEN = Path(__file__).parents[2] / "fixtures" / "golden" / "errors_encryption_062000.json"
ENCRYPTED = {"x-encrypted": "true"}


@pytest.fixture(scope="module")
def oracle(keys: Keys) -> Any:
    return mastercard_jwe(keys.server.cert_path, keys.client.key_path)


def headers_for(fmt: str, accept: str | None = None) -> dict[str, str]:
    return {"Content-Type": MEDIA[fmt], "Accept": accept or MEDIA[fmt], **ENCRYPTED}


def create_body(reference: str, fmt: str, server: Party, **kwargs: Any) -> bytes:
    plaintext, _ = encode({"paymentrequest": payment_request(reference, **kwargs)}, fmt)
    return our_encrypt(plaintext, server.cert, fmt)


def assert_encrypted_payload_error(response: Response) -> None:
    assert response.status_code == 400, response.text
    assert "x-encrypted" not in response.headers
    assert response.json() == json.loads(GOLDEN.read_text())


def decrypted(response: Response, fmt: str, client: Party) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["x-encrypted"] == "true"
    assert response.headers["content-type"].startswith(MEDIA[fmt])
    plaintext, header = our_decrypt(response.content, fmt, client)
    assert header["kid"] == client.kid and header["cty"] == MEDIA[fmt]
    assert (header["alg"], header["enc"]) == ("RSA-OAEP-256", "A256GCM")
    return (JSON if fmt == "json" else XML).decode(plaintext)


# --- accepted --------------------------------------------------------------------------------


def test_json_flow_with_mastercards_library(api: Api, oracle: Any) -> None:
    """Create, retrieve by id and by reference, cancel by POST: encrypted by their library,
    answers decrypted by their library and by ours."""
    body = mastercard_encrypt({"paymentrequest": payment_request("ENC-JSON-1")}, oracle)
    created = api.call("POST", "/payment", body, headers=headers_for("json"))
    payment = mastercard_decrypt(created.content, oracle)["payment"]
    assert decrypted(created, "json", api.keys.client)["payment"] == payment
    assert payment["status"] == "PENDING"
    for suffix in (f"/{payment['id']}", "?ref=ENC-JSON-1"):
        retrieved = api.call("GET", suffix, headers=headers_for("json"))
        assert mastercard_decrypt(retrieved.content, oracle)["payment"]["id"] == payment["id"]
    cancel = mastercard_encrypt({"cancelpaymentrequest": ""}, oracle)
    answer = api.call("POST", "/ENC-JSON-1/cancel", cancel, headers=headers_for("json"))
    assert mastercard_decrypt(answer.content, oracle) == {"cancelpayment": {"status": "SUCCESS"}}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_flow_with_our_jwe_in_both_formats(api: Api, fmt: str) -> None:
    server, client = api.keys.server, api.keys.client
    created = api.call(
        "POST", "/payment", create_body("ENC-1", fmt, server), headers=headers_for(fmt)
    )
    payment = decrypted(created, fmt, client)["payment"]
    assert decrypted(api.call("GET", f"/{payment['id']}", headers=headers_for(fmt)), fmt, client)
    assert decrypted(api.call("GET", "?ref=ENC-1", headers=headers_for(fmt)), fmt, client)
    answer = api.call("GET", "/ENC-1/cancel", headers=headers_for(fmt))
    assert decrypted(answer, fmt, client) == {"cancelpayment": {"status": "SUCCESS"}}


def test_xml_plaintext_in_the_json_wrapper(api: Api) -> None:
    """The D-ENC sample: cty application/xml inside {"encrypted_payload":...}."""
    plaintext, _ = encode({"paymentrequest": payment_request("ENC-MIXED")}, "xml")
    body = our_encrypt(plaintext, api.keys.server.cert, "json", cty="application/xml")
    response = api.call("POST", "/payment", body, headers=headers_for("json", "application/xml"))
    assert decrypted(response, "xml", api.keys.client)["payment"]["status"] == "PENDING"


def test_cancel_post_without_a_body_is_answered_encrypted(api: Api) -> None:
    api.call(
        "POST",
        "/payment",
        create_body("ENC-2", "json", api.keys.server),
        headers=headers_for("json"),
    )
    answer = api.call("POST", "/ENC-2/cancel", headers=headers_for("json"))
    assert decrypted(answer, "json", api.keys.client) == {"cancelpayment": {"status": "SUCCESS"}}


def test_a128gcm_request_is_accepted(api: Api) -> None:
    plaintext, _ = encode({"paymentrequest": payment_request("ENC-128")}, "json")
    server = api.keys.server
    compact = jwe.encrypt(
        plaintext, server.cert, kid=server.kid, cty="application/json", enc="A128GCM"
    )
    response = api.call("POST", "/payment", wrap(compact, "json"), headers=headers_for("json"))
    assert response.status_code == 200


def test_mtf_project_with_an_encryption_certificate_is_answered_encrypted(api: Api) -> None:
    response = api.call(
        "GET",
        "?ref=NONE",
        partner=MTF_PARTNER,
        consumer_key=MTF_KEY,
        key=api.keys.mtf_signer,
        headers=headers_for("json"),
    )
    assert response.status_code == 404  # errors stay plaintext
    assert "x-encrypted" not in response.headers


# --- refused: 400 062000 Encrypted Payload ---------------------------------------------------


def segments_changed(compact: str, index: int, data: bytes) -> str:
    parts = compact.split(".")
    parts[index] = base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    return ".".join(parts)


def flipped(compact: str, index: int) -> str:
    segment = compact.split(".")[index]
    raw = bytearray(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return segments_changed(compact, index, bytes(raw))


def other_algorithm(server: Party, alg: str, enc: str) -> str:
    token = JWE(
        b'{"paymentrequest":{}}', protected=json.dumps({"alg": alg, "enc": enc, "kid": server.kid})
    )
    token.allowed_algs = [alg, enc]
    token.add_recipient(JWK.from_pyca(server.cert.public_key()))
    return str(token.serialize(compact=True))


BROKEN: dict[str, Callable[[str, Party], str]] = {
    "truncated": lambda c, s: c[: len(c) // 2],
    "missing-segment": lambda c, s: c.rsplit(".", 1)[0],
    "corrupted-ciphertext": lambda c, s: flipped(c, 3),
    "corrupted-tag": lambda c, s: flipped(c, 4),
    "corrupted-key": lambda c, s: flipped(c, 1),
    "not-base64": lambda c, s: c.replace(".", ".!", 1),
    "rsa1_5": lambda c, s: other_algorithm(s, "RSA1_5", "A256GCM"),
    "rsa-oaep-sha1": lambda c, s: other_algorithm(s, "RSA-OAEP", "A256GCM"),
    "cbc-hmac": lambda c, s: other_algorithm(s, "RSA-OAEP-256", "A128CBC-HS256"),
    "unknown-kid": lambda c, s: jwe.encrypt(b"{}", s.cert, kid="ab" * 32, cty="application/json"),
    "for-another-key": lambda c, s: "",  # replaced in the test
}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_broken_jwe_is_refused(api: Api, fmt: str, breakage: str) -> None:
    server = api.keys.server
    plaintext, _ = encode({"paymentrequest": payment_request("BROKEN")}, fmt)
    compact = unwrap(our_encrypt(plaintext, server.cert, fmt), fmt)
    if breakage == "for-another-key":
        stranger = api.keys.stranger
        compact = jwe.encrypt(plaintext, stranger.cert, kid=server.kid, cty=MEDIA[fmt])
    else:
        compact = BROKEN[breakage](compact, server)
    response = api.call(
        "POST", "/payment", wrap(compact, fmt), headers=headers_for(fmt, "application/json")
    )
    assert_encrypted_payload_error(response)
    assert api.call("GET", "?ref=BROKEN").status_code == 404  # nothing was created


@pytest.mark.parametrize(
    "body",
    [
        b'{"paymentrequest":{"transaction_reference":"PLAIN"}}',
        b'{"encrypted_payload":{}}',
        b'{"encrypted_payload":{"data":42}}',
        b'{"encrypted_payload":"abc"}',
        b"{not json",
    ],
    ids=["plaintext", "no-data", "data-not-string", "not-an-object", "not-json"],
)
def test_body_that_is_not_a_wrapper_is_refused(api: Api, body: bytes) -> None:
    assert_encrypted_payload_error(api.call("POST", "/payment", body, headers=headers_for("json")))


@pytest.mark.parametrize(
    ("plaintext", "cty"),
    [
        (b'{"paymentrequest": ', "application/json"),
        (b"<paymentrequest><unclosed></paymentrequest>", "application/xml"),
        (b"\xff\xfe not utf-8", "application/json"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><paymentrequest>&a;</paymentrequest>', "application/xml"),
        (b"hello", "text/plain"),
    ],
    ids=["json-cut", "xml-unclosed", "not-utf8", "xml-entities", "text-plain-cty"],
)
def test_plaintext_that_is_not_well_formed_is_refused(api: Api, plaintext: bytes, cty: str) -> None:
    body = our_encrypt(plaintext, api.keys.server.cert, "json", cty=cty)
    assert_encrypted_payload_error(api.call("POST", "/payment", body, headers=headers_for("json")))


def test_well_formed_but_invalid_plaintext_gets_the_field_errors(api: Api) -> None:
    body = our_encrypt(
        b'{"paymentrequest":{"transaction_reference":"X"}}', api.keys.server.cert, "json"
    )
    response = api.call("POST", "/payment", body, headers=headers_for("json"))
    assert response.status_code == 400
    errors = response.json()["Errors"]["Error"]
    sources = {e["Source"] for e in (errors if isinstance(errors, list) else [errors])}
    assert "Encrypted Payload" not in sources and "x-encrypted" not in response.headers


def test_project_without_encryption_certificate_is_refused_before_anything_runs(api: Api) -> None:
    body = create_body("NO-CERT", "json", api.keys.server)
    response = api.call(
        "POST", "/payment", body, consumer_key=PLAIN_KEY, headers=headers_for("json")
    )
    assert_encrypted_payload_error(response)
    assert api.call("GET", "?ref=NO-CERT").status_code == 404


def test_wrapper_without_x_encrypted_is_a_malformed_body(api: Api) -> None:
    body = create_body("NO-HEADER", "json", api.keys.server)
    response = api.call("POST", "/payment", body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["Errors"]["Error"]["Source"] == "body"


def test_wrapper_with_an_unsupported_content_type_is_415(api: Api) -> None:
    body = create_body("CT", "json", api.keys.server)
    headers = {**headers_for("json"), "Content-Type": "text/plain"}
    assert api.call("POST", "/payment", body, headers=headers).status_code == 415


def test_authentication_is_checked_before_decryption(api: Api) -> None:
    response = api.call(
        "POST",
        "/payment",
        b'{"encrypted_payload":{}}',
        key=api.keys.stranger,
        headers=headers_for("json"),
    )
    assert response.status_code == 403


# --- rotation --------------------------------------------------------------------------------


def test_rotation_on_a_running_app(api: Api, signed_settings: Any) -> None:
    """`xborder keys rotate` in another process: the new kid is picked up at its first use;
    the old key decrypts until retired."""
    store = ServerKeyStore(signed_settings.keys_dir)
    old = api.keys.server
    assert (
        api.call(
            "POST", "/payment", create_body("ROT-1", "json", old), headers=headers_for("json")
        ).status_code
        == 200
    )
    new_kid = store.rotate()
    new = store.primary_certificate()
    assert new.kid == new_kid == fingerprint(new.certificate)
    plaintext, _ = encode({"paymentrequest": payment_request("ROT-2")}, "json")
    body = wrap(
        jwe.encrypt(plaintext, new.certificate, kid=new_kid, cty="application/json"), "json"
    )
    assert api.call("POST", "/payment", body, headers=headers_for("json")).status_code == 200
    assert (
        api.call(
            "POST", "/payment", create_body("ROT-3", "json", old), headers=headers_for("json")
        ).status_code
        == 200
    )
    store.retire(old.kid)
    response = api.call(
        "POST", "/payment", create_body("ROT-4", "json", old), headers=headers_for("json")
    )
    assert_encrypted_payload_error(response)
