"""Self-signed certificates over any key, for tests that need an RSA or EC signer (D23).

The product's own generator (``xborder.security.keys.generate_key_pair_and_certificate``)
makes RSA keys only, with the extensions a project's certificate carries; tests of EC keys
and of odd validity windows build theirs here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def self_signed(
    key: PrivateKey, name: str, *, start: datetime | None = None, days: int = 30
) -> x509.Certificate:
    """A certificate of ``key`` signed by itself, valid from ``start`` (a day ago by default)
    for ``days`` days."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    begins = start if start is not None else datetime.now(UTC) - timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(begins)
        .not_valid_after(begins + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def private_key_pem(key: PrivateKey) -> str:
    """``key`` as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
