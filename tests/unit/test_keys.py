"""xborder.security.keys: loading, fingerprints (Mastercard's kid as oracle), rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from client_encryption.jwe_encryption import encrypt_payload
from client_encryption.jwe_encryption_config import JweEncryptionConfig
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from oauth1.authenticationutils import load_signing_key

from tests.certificates import self_signed
from xborder.errors import ConfigError
from xborder.security import (
    Keyring,
    certificate_pem,
    fingerprint,
    generate_key_pair_and_certificate,
    load_certificate,
    load_pkcs12,
    load_private_key,
    private_key_pem,
    public_key_pem,
    rsa_public_key,
    write_private_key,
)
from xborder.security.keys import (
    key_id,
    load_pkcs12_certificate,
    load_request_token_certificate,
)

Pair = tuple[RSAPrivateKey, x509.Certificate]


@pytest.fixture(scope="module")
def pair() -> Pair:
    return generate_key_pair_and_certificate("xborder test", 10)


@pytest.fixture(scope="module")
def second() -> Pair:
    return generate_key_pair_and_certificate("xborder second", 10)


def same_key(a: RSAPrivateKey, b: RSAPrivateKey) -> bool:
    return a.private_numbers() == b.private_numbers()


# --- fingerprint = Mastercard's kid -----------------------------------------------------------


def test_fingerprint_equals_client_encryption_kid(pair: Pair, tmp_path: Path) -> None:
    _, cert = pair
    (tmp_path / "cert.pem").write_bytes(certificate_pem(cert))
    (tmp_path / "cert.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    for name in ("cert.pem", "cert.der"):
        config = JweEncryptionConfig(
            {
                "paths": {"$": {"toEncrypt": {"$": "encrypted_payload"}, "toDecrypt": {}}},
                "encryptedValueFieldName": "data",
                "encryptionCertificate": str(tmp_path / name),
            }
        )
        assert config.encryption_key_fingerprint == fingerprint(cert)
        compact = encrypt_payload({"a": 1}, config)["encrypted_payload"]["data"]
        header = json.loads(_b64url(compact.split(".")[0]))
        assert header["kid"] == fingerprint(cert)


def test_fingerprint_is_the_same_for_cert_public_and_private_key(pair: Pair) -> None:
    key, cert = pair
    kid = fingerprint(cert)
    assert kid == fingerprint(key) == fingerprint(key.public_key())
    assert len(kid) == 64 and kid == kid.lower() and int(kid, 16) >= 0


def test_fingerprints_differ_between_keys(pair: Pair, second: Pair) -> None:
    assert fingerprint(pair[1]) != fingerprint(second[1])


def test_non_rsa_key_is_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ConfigError):
        rsa_public_key(ec_key.public_key())  # type: ignore[arg-type]


# --- loading ------------------------------------------------------------------------------------


def test_load_certificate_from_path_str_and_bytes(pair: Pair, tmp_path: Path) -> None:
    _, cert = pair
    path = tmp_path / "c.pem"
    path.write_bytes(certificate_pem(cert))
    assert load_certificate(path) == cert
    assert load_certificate(str(path)) == cert
    assert load_certificate(certificate_pem(cert)) == cert


@pytest.mark.parametrize("data", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nx\n"])
def test_load_certificate_refuses_garbage(data: bytes) -> None:
    with pytest.raises(ConfigError):
        load_certificate(data)


def test_load_certificate_refuses_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_certificate(tmp_path / "absent.pem")
    assert isinstance(caught.value.__cause__, OSError)


def test_load_private_key_plain_and_encrypted(pair: Pair) -> None:
    key, _ = pair
    assert same_key(load_private_key(private_key_pem(key)), key)
    encrypted = private_key_pem(key, "s3cret")
    assert b"ENCRYPTED" in encrypted
    assert same_key(load_private_key(encrypted, "s3cret"), key)
    assert same_key(load_private_key(encrypted, b"s3cret"), key)


def test_load_private_key_reads_pkcs1(pair: Pair) -> None:
    key, _ = pair
    pkcs1 = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert same_key(load_private_key(pkcs1), key)


@pytest.mark.parametrize("password", [None, "wrong"])
def test_load_private_key_wrong_password(pair: Pair, password: str | None) -> None:
    with pytest.raises(ConfigError):
        load_private_key(private_key_pem(pair[0], "right"), password)


def test_load_private_key_password_for_plain_key(pair: Pair) -> None:
    with pytest.raises(ConfigError):
        load_private_key(private_key_pem(pair[0]), "unneeded")


def test_load_private_key_refuses_ec() -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigError):
        load_private_key(ec_pem)


def test_load_pkcs12_matches_mastercard_loader(pair: Pair, tmp_path: Path) -> None:
    key, cert = pair
    path = tmp_path / "keystore.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"keyalias", key, cert, None, serialization.BestAvailableEncryption(b"keystorepassword")
        )
    )
    loaded_key, loaded_cert = load_pkcs12(path, "keystorepassword")
    assert same_key(loaded_key, key) and loaded_cert == cert
    assert same_key(load_signing_key(str(path), "keystorepassword"), loaded_key)
    with pytest.raises(ConfigError):
        load_pkcs12(path, "wrong")


def test_load_pkcs12_without_password(pair: Pair, tmp_path: Path) -> None:
    key, cert = pair
    path = tmp_path / "open.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"a", key, cert, None, serialization.NoEncryption())
    )
    assert load_pkcs12(path, None)[1] == cert


def test_load_pkcs12_without_certificate_is_refused(pair: Pair, tmp_path: Path) -> None:
    path = tmp_path / "nocert.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"a", pair[0], None, None, serialization.NoEncryption()
        )
    )
    with pytest.raises(ConfigError):
        load_pkcs12(path, None)


def _ec_certificate(curve: ec.EllipticCurve) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(curve)
    return key, self_signed(key, "ec", start=datetime.now(UTC), days=1)


def test_request_token_certificates_are_rsa_or_ec_p256(pair: Pair, tmp_path: Path) -> None:
    """D23: RS256 and ES256 keys; the key id of either is the SHA-256 of its SPKI."""
    rsa_pem = certificate_pem(pair[1])
    assert key_id(load_request_token_certificate(rsa_pem)) == fingerprint(pair[1])
    key, p256 = _ec_certificate(ec.SECP256R1())
    assert load_request_token_certificate(certificate_pem(p256)) == p256
    spki = p256.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_id(p256) == hashlib.sha256(spki).hexdigest()
    keystore = tmp_path / "ec.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"a", key, p256, None, serialization.BestAvailableEncryption(b"pw")
        )
    )
    assert load_pkcs12_certificate(keystore, "pw") == p256
    with pytest.raises(ConfigError):
        load_pkcs12_certificate(keystore, "wrong")
    _key, p384 = _ec_certificate(ec.SECP384R1())
    with pytest.raises(ConfigError, match="P-256"):
        load_request_token_certificate(certificate_pem(p384))
    with pytest.raises(ConfigError):
        load_request_token_certificate(b"not a certificate")


# --- generation -------------------------------------------------------------------------------


def test_generated_certificate_is_self_signed_and_valid(pair: Pair) -> None:
    key, cert = pair
    now = datetime.now(UTC)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "xborder test"
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > timedelta(days=9, hours=23)
    assert key.key_size == 2048
    assert fingerprint(cert) == fingerprint(key)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and not basic.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign


@pytest.mark.parametrize(("key_size", "days"), [(1024, 1), (4096, 1), (2048, 0)])
def test_generation_refuses_unsupported_parameters(key_size: int, days: int) -> None:
    with pytest.raises(ValueError):
        generate_key_pair_and_certificate("x", days, key_size=key_size)


# --- PEM helpers and writing ------------------------------------------------------------------


def test_pem_helpers(pair: Pair) -> None:
    key, cert = pair
    assert certificate_pem(cert).startswith(b"-----BEGIN CERTIFICATE-----")
    assert public_key_pem(cert) == public_key_pem(key) == public_key_pem(key.public_key())
    assert public_key_pem(cert).startswith(b"-----BEGIN PUBLIC KEY-----")
    assert private_key_pem(key).startswith(b"-----BEGIN PRIVATE KEY-----")
    assert private_key_pem(key, "") == private_key_pem(key)  # empty password: unencrypted


def test_write_private_key_is_owner_only_whatever_the_umask(pair: Pair, tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        write_private_key(tmp_path / "k.pem", pair[0])
    finally:
        os.umask(previous)
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert same_key(load_private_key((tmp_path / "k.pem").read_bytes()), pair[0])


def test_write_private_key_with_password(pair: Pair, tmp_path: Path) -> None:
    write_private_key(tmp_path / "k.pem", pair[0], password="pw")
    assert same_key(load_private_key((tmp_path / "k.pem").read_bytes(), "pw"), pair[0])


def test_write_private_key_never_overwrites(pair: Pair, tmp_path: Path) -> None:
    target = tmp_path / "k.pem"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        write_private_key(target, pair[0])
    assert target.read_bytes() == b"keep me"


def test_write_private_key_does_not_follow_symlinks(pair: Pair, tmp_path: Path) -> None:
    (tmp_path / "link.pem").symlink_to(tmp_path / "elsewhere.pem")
    with pytest.raises(FileExistsError):
        write_private_key(tmp_path / "link.pem", pair[0])
    assert not (tmp_path / "elsewhere.pem").exists()


# --- Keyring ----------------------------------------------------------------------------------


def test_keyring_first_key_is_primary(pair: Pair, second: Pair) -> None:
    ring = Keyring()
    assert ring.primary_kid is None and len(ring) == 0
    first = ring.add(pair[0])
    other = ring.add(second[0])
    assert first == fingerprint(pair[1]) and other == fingerprint(second[1])
    assert ring.primary_kid == first
    assert ring.get(other) is second[0] and ring[first] is pair[0]
    assert sorted(ring) == sorted([first, other]) and len(ring) == 2
    assert ring.get("0" * 64) is None


def test_keyring_rotation(pair: Pair, second: Pair) -> None:
    ring = Keyring([pair[0]])
    old = ring.primary_kid
    assert old is not None
    new = ring.add(second[0], primary=True)
    assert ring.primary_kid == new
    assert ring.get(old) is pair[0]  # still decrypts during the overlap
    ring.retire(old)
    assert ring.get(old) is None and list(ring) == [new]


def test_keyring_refuses_retiring_the_primary_while_others_remain(pair: Pair, second: Pair) -> None:
    ring = Keyring([pair[0], second[0]])
    primary = ring.primary_kid
    assert primary is not None
    with pytest.raises(ValueError):
        ring.retire(primary)
    ring.promote(fingerprint(second[1]))
    ring.retire(primary)
    ring.retire(fingerprint(second[1]))  # the last key may go
    assert ring.primary_kid is None and len(ring) == 0


def test_keyring_unknown_kid(pair: Pair) -> None:
    ring = Keyring([pair[0]])
    with pytest.raises(KeyError):
        ring.retire("nope")
    with pytest.raises(KeyError):
        ring.promote("nope")
    with pytest.raises(KeyError):
        ring["nope"]


def test_keyring_adding_twice_is_harmless(pair: Pair) -> None:
    ring = Keyring([pair[0], pair[0]])
    assert len(ring) == 1


def test_rsa_public_key_of_each_form(pair: Pair) -> None:
    key, cert = pair
    numbers = key.public_key().public_numbers()
    for form in (key, key.public_key(), cert):
        assert rsa_public_key(form).public_numbers() == numbers
    assert isinstance(rsa_public_key(cert), rsa.RSAPublicKey)


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
