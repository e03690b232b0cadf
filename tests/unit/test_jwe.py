"""xborder.security.jwe against Mastercard's client-encryption library (JWE mode) as oracle."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from client_encryption.encryption_exception import EncryptionError
from client_encryption.jwe_encryption import decrypt_payload, encrypt_payload
from client_encryption.jwe_encryption_config import JweEncryptionConfig
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from xborder.security import (
    Keyring,
    PayloadDecryptionError,
    certificate_pem,
    decrypt,
    encrypt,
    fingerprint,
    generate_key_pair_and_certificate,
    write_private_key,
)

PAYMENT = {
    "paymentrequest": {
        "transaction_reference": "0999999034810154901",
        "sender_account_uri": "tel:+254108989",
        "amount": "10.00",
        "sender": {"first_name": "José", "last_name": "Ñúñez"},
    }
}
XML = (
    '<?xml version="1.0" encoding="UTF-8" ?><paymentrequest>'
    "<transaction_reference>0999999034810154901</transaction_reference></paymentrequest>"
)


@dataclass(frozen=True)
class Party:
    key: RSAPrivateKey
    cert: x509.Certificate

    @property
    def kid(self) -> str:
        return fingerprint(self.cert)


@pytest.fixture(scope="module")
def server() -> Party:
    return Party(*generate_key_pair_and_certificate("xborder server", 30))


@pytest.fixture(scope="module")
def client() -> Party:
    return Party(*generate_key_pair_and_certificate("partner client", 30))


@pytest.fixture(scope="module")
def oracle(
    tmp_path_factory: pytest.TempPathFactory, server: Party, client: Party
) -> JweEncryptionConfig:
    """The client side as Mastercard documents it for XBS: encrypt to the server, decrypt ours."""
    folder = tmp_path_factory.mktemp("jwe")
    (folder / "server.pem").write_bytes(certificate_pem(server.cert))
    write_private_key(folder / "client.key", client.key)
    return JweEncryptionConfig(
        {
            "paths": {
                "$": {
                    "toEncrypt": {"$": "encrypted_payload"},
                    "toDecrypt": {"encrypted_payload": "$"},
                }
            },
            "encryptedValueFieldName": "data",
            "encryptionCertificate": str(folder / "server.pem"),
            "decryptionKey": str(folder / "client.key"),
        }
    )


@pytest.fixture(scope="module")
def keyring(server: Party) -> dict[str, RSAPrivateKey]:
    return {server.kid: server.key}


def segments(compact: str) -> list[bytes]:
    return [base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) for s in compact.split(".")]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwcrypto_token(plaintext: bytes, key: JWK, header: dict[str, Any]) -> str:
    token = JWE(plaintext, protected=json.dumps(header))
    token.allowed_algs = [header["alg"], header["enc"]]
    token.add_recipient(key)
    return str(token.serialize(compact=True))


def oracle_jwe(oracle: JweEncryptionConfig, payload: Any) -> str:
    wrapped = encrypt_payload(payload, oracle)
    assert list(wrapped) == ["encrypted_payload"]
    assert list(wrapped["encrypted_payload"]) == ["data"]
    return str(wrapped["encrypted_payload"]["data"])


# --- requests encrypted by Mastercard's library ----------------------------------------------


def test_oracle_request_decrypts(
    oracle: JweEncryptionConfig, keyring: dict[str, RSAPrivateKey], server: Party
) -> None:
    compact = oracle_jwe(oracle, PAYMENT)
    plaintext, header = decrypt(compact, keyring)
    assert plaintext == json.dumps(PAYMENT).encode()  # json.dumps defaults: ", " ": " ASCII
    assert json.loads(plaintext) == PAYMENT
    assert header == {
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": server.kid,
        "cty": "application/json",
    }


def test_oracle_wire_format(oracle: JweEncryptionConfig, server: Party) -> None:
    raw_header, encrypted_key, iv, _, tag = segments(oracle_jwe(oracle, PAYMENT))
    expected = '{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"%s","cty":"application/json"}'
    assert raw_header.decode() == expected % server.kid
    assert (len(encrypted_key), len(iv), len(tag)) == (256, 16, 16)  # a 16-byte GCM IV, not 12


def test_oracle_request_from_json_text_decrypts(
    oracle: JweEncryptionConfig, keyring: dict[str, RSAPrivateKey]
) -> None:
    plaintext, _ = decrypt(oracle_jwe(oracle, json.dumps(PAYMENT)), keyring)
    assert json.loads(plaintext) == PAYMENT


def test_oracle_cannot_encrypt_xml(oracle: JweEncryptionConfig) -> None:
    """The library parses its input as JSON, so an XML body cannot go through it."""
    with pytest.raises(EncryptionError):
        encrypt_payload(XML, oracle)


# --- responses encrypted by us, decrypted by Mastercard's library ----------------------------


@pytest.mark.parametrize("enc", ["A256GCM", "A192GCM", "A128GCM"])
def test_our_response_decrypts_with_oracle(
    oracle: JweEncryptionConfig, client: Party, enc: str
) -> None:
    plaintext = json.dumps(PAYMENT, separators=(",", ":"), ensure_ascii=False).encode()
    compact = encrypt(plaintext, client.cert, kid=client.kid, cty="application/json", enc=enc)
    assert decrypt_payload({"encrypted_payload": {"data": compact}}, oracle) == PAYMENT


def test_our_header_matches_the_oracle_layout(client: Party) -> None:
    compact = encrypt(b"{}", client.cert, kid=client.kid, cty="application/json")
    raw_header, encrypted_key, iv, _, tag = segments(compact)
    expected = '{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"%s","cty":"application/json"}'
    assert raw_header.decode() == expected % client.kid
    assert (len(encrypted_key), len(iv), len(tag)) == (256, 12, 16)


def test_no_kid_is_written_when_none(client: Party) -> None:
    compact = encrypt(b"{}", client.key.public_key(), kid=None, cty="application/json")
    assert json.loads(segments(compact)[0]) == {
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "cty": "application/json",
    }


def test_xml_in_json_wrapper_round_trip(server: Party, keyring: dict[str, RSAPrivateKey]) -> None:
    """The D-ENC sample: XML plaintext, cty application/xml, inside the JSON wrapper."""
    compact = encrypt(XML.encode(), server.cert, kid=server.kid, cty="application/xml")
    body = json.dumps({"encrypted_payload": {"data": compact}})
    plaintext, header = decrypt(json.loads(body)["encrypted_payload"]["data"], keyring)
    assert plaintext == XML.encode()
    assert header["cty"] == "application/xml"


def test_oracle_silently_returns_xml_responses_undecrypted(
    oracle: JweEncryptionConfig, client: Party
) -> None:
    """Library quirk: a non-JSON plaintext makes decrypt_payload return its input unchanged."""
    compact = encrypt(XML.encode(), client.cert, kid=client.kid, cty="application/xml")
    wrapped = {"encrypted_payload": {"data": compact}}
    assert decrypt_payload(wrapped, oracle) == {"encrypted_payload": {"data": compact}}


def test_oracle_does_not_verify_the_gcm_tag(
    oracle: JweEncryptionConfig, client: Party, keyring: dict[str, RSAPrivateKey]
) -> None:
    """Library quirk: a forged tag still decrypts there; we refuse it."""
    compact = encrypt(b'{"a":1}', client.cert, kid=client.kid, cty="application/json")
    forged = ".".join([*compact.split(".")[:4], b64url(bytes(16))])
    assert decrypt_payload({"encrypted_payload": {"data": forged}}, oracle) == {"a": 1}
    request = oracle_jwe(oracle, {"a": 1})
    with pytest.raises(PayloadDecryptionError):
        decrypt(".".join([*request.split(".")[:4], b64url(bytes(16))]), keyring)


# --- key selection ---------------------------------------------------------------------------


def test_no_kid_uses_the_single_key(server: Party, keyring: dict[str, RSAPrivateKey]) -> None:
    compact = encrypt(b"{}", server.cert, kid=None, cty="application/json", enc="A128GCM")
    assert decrypt(compact, keyring)[0] == b"{}"


def test_no_kid_uses_the_keyring_primary(server: Party, client: Party) -> None:
    ring = Keyring([client.key])
    ring.add(server.key, primary=True)
    compact = encrypt(b"{}", server.cert, kid=None, cty="application/json")
    assert decrypt(compact, ring)[0] == b"{}"


def test_kid_selects_a_non_primary_keyring_key(server: Party, client: Party) -> None:
    ring = Keyring([server.key, client.key])
    compact = encrypt(b"{}", client.cert, kid=client.kid, cty="application/json")
    assert decrypt(compact, ring)[0] == b"{}"


def test_no_kid_and_several_plain_keys_is_refused(server: Party, client: Party) -> None:
    compact = encrypt(b"{}", server.cert, kid=None, cty="application/json")
    with pytest.raises(PayloadDecryptionError):
        decrypt(compact, {server.kid: server.key, client.kid: client.key})


def test_encrypt_refuses_other_enc(server: Party) -> None:
    with pytest.raises(ValueError):
        encrypt(b"{}", server.cert, kid=None, cty="application/json", enc="A128CBC-HS256")


# --- refusals --------------------------------------------------------------------------------


def _tamper(index: int, change: Callable[[bytes], bytes]) -> Callable[[str], str]:
    def rewrite(compact: str) -> str:
        parts = compact.split(".")
        parts[index] = b64url(change(segments(compact)[index]))
        return ".".join(parts)

    return rewrite


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def _header(**changes: Any) -> Callable[[bytes], bytes]:
    def change(raw: bytes) -> bytes:
        header = json.loads(raw)
        header.update(changes)
        return json.dumps({k: v for k, v in header.items() if v is not None}).encode()

    return change


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda c: c.rsplit(".", 1)[0], id="tag-segment-missing"),
        pytest.param(lambda c: c[:-5], id="tag-truncated"),
        pytest.param(lambda c: c + ".", id="six-segments"),
        pytest.param(lambda c: c[: len(c) // 2], id="cut-in-half"),
        pytest.param(lambda c: "", id="empty"),
        pytest.param(lambda c: c.replace(".", "..", 1), id="empty-segment"),
        pytest.param(lambda c: "=" + c, id="not-base64url"),
        pytest.param(_tamper(3, _flip), id="ciphertext"),
        pytest.param(_tamper(3, lambda d: d[:-1]), id="ciphertext-truncated"),
        pytest.param(_tamper(4, _flip), id="tag"),
        pytest.param(_tamper(2, _flip), id="iv"),
        pytest.param(_tamper(1, _flip), id="encrypted-key"),
        pytest.param(_tamper(0, _header(cty="application/xml")), id="header-cty"),
        pytest.param(_tamper(0, _header(kid="0" * 64)), id="unknown-kid"),
        pytest.param(_tamper(0, _header(kid=7)), id="kid-not-string"),
        pytest.param(_tamper(0, _header(alg="RSA-OAEP")), id="alg-rsa-oaep-sha1"),
        pytest.param(_tamper(0, _header(alg="RSA1_5")), id="alg-rsa1_5-label"),
        pytest.param(_tamper(0, _header(enc="A256CBC-HS512")), id="enc-label"),
        pytest.param(_tamper(0, _header(alg=None)), id="no-alg"),
        pytest.param(_tamper(0, _header(zip="DEF")), id="zip"),
        pytest.param(_tamper(0, _header(crit=["exp"], exp=1)), id="crit"),
        pytest.param(_tamper(0, lambda _: b"[1,2]"), id="header-array"),
        pytest.param(_tamper(0, lambda _: b"{not json"), id="header-not-json"),
        pytest.param(_tamper(0, lambda _: b'{"alg":"RSA1_5","alg":"RSA-OAEP-256"}'), id="dup"),
        pytest.param(_tamper(0, lambda _: b"\xff\xfe"), id="header-not-utf8"),
    ],
)
def test_damaged_tokens_are_refused(
    oracle: JweEncryptionConfig, keyring: dict[str, RSAPrivateKey], rewrite: Callable[[str], str]
) -> None:
    compact = oracle_jwe(oracle, PAYMENT)
    with pytest.raises(PayloadDecryptionError) as caught:
        decrypt(rewrite(compact), keyring)
    assert caught.value.reason_code == "INVALID_INPUT_FORMAT"
    assert caught.value.detail_code == "062000"
    assert caught.value.source == "Encrypted Payload"


def test_json_serialisation_is_refused(server: Party, keyring: dict[str, RSAPrivateKey]) -> None:
    token = JWE(b"{}", protected=json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM"}))
    token.add_recipient(JWK.from_pyca(server.key.public_key()))
    with pytest.raises(PayloadDecryptionError):
        decrypt(str(token.serialize()), keyring)


@pytest.mark.parametrize(
    ("alg", "enc"),
    [
        ("RSA1_5", "A256GCM"),
        ("RSA-OAEP", "A256GCM"),
        ("RSA-OAEP-256", "A128CBC-HS256"),
        ("RSA-OAEP-256", "A256CBC-HS512"),
    ],
)
def test_other_real_algorithms_are_refused(
    server: Party, keyring: dict[str, RSAPrivateKey], alg: str, enc: str
) -> None:
    header = {"alg": alg, "enc": enc, "kid": server.kid}
    compact = jwcrypto_token(b"{}", JWK.from_pyca(server.key.public_key()), header)
    with pytest.raises(PayloadDecryptionError):
        decrypt(compact, keyring)


def test_dir_is_refused(server: Party, keyring: dict[str, RSAPrivateKey]) -> None:
    secret = JWK.generate(kty="oct", size=256)
    header = {"alg": "dir", "enc": "A256GCM", "kid": server.kid}
    with pytest.raises(PayloadDecryptionError):
        decrypt(jwcrypto_token(b"{}", secret, header), keyring)


def test_token_for_another_key_is_refused(
    server: Party, client: Party, keyring: dict[str, RSAPrivateKey]
) -> None:
    compact = encrypt(b"{}", client.cert, kid=server.kid, cty="application/json")
    with pytest.raises(PayloadDecryptionError) as caught:
        decrypt(compact, keyring)
    assert caught.value.__cause__ is not None


def test_unknown_kid_is_refused(client: Party, keyring: dict[str, RSAPrivateKey]) -> None:
    compact = encrypt(b"{}", client.cert, kid=client.kid, cty="application/json")
    with pytest.raises(PayloadDecryptionError) as caught:
        decrypt(compact, keyring)
    assert "kid" in caught.value.reason


def test_reason_holds_no_payload(client: Party, server: Party) -> None:
    compact = encrypt(b'{"secret":"4111111111111111"}', client.cert, kid=None, cty="x")
    with pytest.raises(PayloadDecryptionError) as caught:
        decrypt(compact, {"only": server.key})
    assert "4111" not in str(caught.value) and compact not in str(caught.value)


def test_a_key_is_converted_for_jwcrypto_once(
    server: Party, client: Party, keyring: dict[str, RSAPrivateKey]
) -> None:
    """jwcrypto validates an RSA key (about 0.1 s) in every new JWK; decrypt reuses one."""
    from xborder.security.jwe import _private_jwk

    _private_jwk.cache_clear()
    for _ in range(3):
        compact = encrypt(b"{}", server.cert, kid=server.kid, cty="application/json")
        assert decrypt(compact, keyring)[0] == b"{}"
    assert _private_jwk.cache_info().misses == 1 and _private_jwk.cache_info().hits == 2
