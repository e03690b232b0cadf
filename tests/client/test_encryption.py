"""PayloadEncryption: Mastercard's library for JSON, xborder's JWE for XML, and why."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from client_encryption.encryption_exception import EncryptionError
from client_encryption.jwe_encryption import decrypt_payload, encrypt_payload

from tests.client.conftest import KEYSTORE_PASSWORD, Keys
from xborder.client import PayloadEncryption, ResponseError, XborderClient
from xborder.client._encryption import _cenc_config
from xborder.errors import ConfigError
from xborder.security import jwe
from xborder.security.keys import fingerprint, load_certificate, load_private_key
from xborder.security.keystore import ServerKeyStore

PLAIN = {
    "json": b'{"paymentrequest":{"transaction_reference":"ENC-1","payment_type":"P2P"}}',
    "xml": b'<?xml version="1.0" encoding="UTF-8"?><paymentrequest>'
    b"<transaction_reference>ENC-1</transaction_reference></paymentrequest>",
}


@pytest.fixture(scope="module")
def encryption(keys: Keys) -> PayloadEncryption:
    return PayloadEncryption(keys.server_cert, keys.client_key)


def header_of(compact: str) -> dict[str, str]:
    segment = compact.split(".")[0]
    decoded: dict[str, str] = json.loads(base64.urlsafe_b64decode(segment + "==="))
    return decoded


def compact_in(body: bytes, fmt: str) -> str:
    if fmt == "json":
        data: str = json.loads(body)["encrypted_payload"]["data"]
        return data
    start = body.index(b"<data>") + len(b"<data>")
    return body[start : body.index(b"</data>")].decode()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_requests_decrypt_with_the_servers_key(
    encryption: PayloadEncryption, keys: Keys, fmt: str
) -> None:
    wrapped = encryption.encrypt(PLAIN[fmt], fmt)  # type: ignore[arg-type]
    compact = compact_in(wrapped, fmt)
    header = header_of(compact)
    assert (header["alg"], header["enc"]) == ("RSA-OAEP-256", "A256GCM")
    assert header["kid"] == fingerprint(load_certificate(keys.server_cert)) == encryption.kid
    plaintext, _ = jwe.decrypt(compact, ServerKeyStore(keys.server_dir).keyring())
    if fmt == "json":
        assert json.loads(plaintext) == json.loads(PLAIN[fmt])
    else:
        assert plaintext == PLAIN[fmt]
        assert header["cty"] == "application/xml"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_answers_encrypted_to_the_client_decrypt(
    encryption: PayloadEncryption, keys: Keys, fmt: str
) -> None:
    answer = b'{"payment":{"id":"rem_x","status":"PENDING"}}' if fmt == "json" else PLAIN["xml"]
    client_cert = load_certificate(keys.client_cert.encode())
    compact = jwe.encrypt(answer, client_cert, kid=fingerprint(client_cert), cty="x", enc="A128GCM")
    body = (
        json.dumps({"encrypted_payload": {"data": compact}}).encode()
        if fmt == "json"
        else b"<encrypted_payload><data>" + compact.encode() + b"</data></encrypted_payload>"
    )
    decrypted = encryption.decrypt(body, fmt)  # type: ignore[arg-type]
    assert json.loads(decrypted) == json.loads(answer) if fmt == "json" else decrypted == answer


def test_mastercards_library_cannot_do_xml(keys: Keys) -> None:
    """The reason XML goes through xborder.security.jwe: the library is JSON-only."""
    config = _cenc_config(keys.server_cert, keys.client_key, None)
    with pytest.raises(EncryptionError):
        encrypt_payload(PLAIN["xml"].decode(), config)
    client_cert = load_certificate(keys.client_cert.encode())
    compact = jwe.encrypt(PLAIN["xml"], client_cert, kid=None, cty="application/xml")
    xml_answer = f"<encrypted_payload><data>{compact}</data></encrypted_payload>"
    assert decrypt_payload(xml_answer, config) == xml_answer  # silently still encrypted


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_what_does_not_decrypt_is_a_response_error(
    encryption: PayloadEncryption, keys: Keys, fmt: str
) -> None:
    not_ours = load_certificate(keys.server_cert)
    compact = jwe.encrypt(b'{"payment":{}}', not_ours, kid=None, cty="application/json")
    bodies = {
        "json": json.dumps({"encrypted_payload": {"data": compact}}).encode(),
        "xml": f"<encrypted_payload><data>{compact}</data></encrypted_payload>".encode(),
    }
    with pytest.raises(ResponseError):
        encryption.decrypt(bodies[fmt], fmt)  # type: ignore[arg-type]
    with pytest.raises(ResponseError):
        encryption.decrypt(b'{"encrypted_payload":{"data":"a.b.c"}}', "json")


def test_keys_are_checked_when_the_encryption_is_made(keys: Keys) -> None:
    keystore = PayloadEncryption(keys.server_cert, keys.client_p12, KEYSTORE_PASSWORD)
    assert keystore.kid == fingerprint(load_certificate(keys.server_cert))
    with pytest.raises(ConfigError, match="PKCS#12"):
        PayloadEncryption(keys.server_cert, keys.client_key, "a password for a PEM key")
    with pytest.raises(ConfigError):
        PayloadEncryption(keys.client_key, keys.client_key)
    with pytest.raises(ConfigError):
        PayloadEncryption(keys.server_cert, keys.directory / "missing.p12", KEYSTORE_PASSWORD)
    assert load_private_key(keys.client_key.read_bytes())  # the PEM key itself is fine


def test_an_encrypted_answer_needs_a_decryption_key() -> None:
    def encrypted(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"encrypted_payload": {"data": "a.b.c.d.e"}})

    client = XborderClient("http://h", "P", transport=httpx.MockTransport(encrypted))
    with pytest.raises(ResponseError, match="no decryption key"):
        client.get_payment("rem_x")
