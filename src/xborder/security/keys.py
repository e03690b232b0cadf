"""RSA keys and certificates: loading, fingerprints (JWE ``kid``), generation and rotation;
also the EC P-256 certificates that may sign request tokens of eu and uk projects (D23).

A key id is the SHA-256 hex digest of the DER SubjectPublicKeyInfo, the value Mastercard's
client-encryption library writes as JWE ``kid`` and the portal shows as a key fingerprint.
Key material that cannot be read raises ``ConfigError``: keys come from settings or the CLI.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from xborder.errors import ConfigError

__all__ = [
    "KEY_SIZES",
    "KeyOrCertificate",
    "Keyring",
    "certificate_pem",
    "fingerprint",
    "generate_key_pair_and_certificate",
    "key_id",
    "load_certificate",
    "load_pkcs12",
    "load_pkcs12_certificate",
    "load_private_key",
    "load_request_token_certificate",
    "private_key_pem",
    "public_key_pem",
    "rsa_public_key",
    "write_private_key",
]

KEY_SIZES = (2048, 3072)
"""RSA modulus sizes ``generate_key_pair_and_certificate`` accepts."""

KeyOrCertificate = RSAPublicKey | RSAPrivateKey | x509.Certificate
StrPath = str | os.PathLike[str]


def rsa_public_key(key_or_cert: KeyOrCertificate) -> RSAPublicKey:
    """Return the RSA public key of a public key, private key or certificate."""
    if isinstance(key_or_cert, RSAPrivateKey):
        return key_or_cert.public_key()
    public = key_or_cert.public_key() if isinstance(key_or_cert, x509.Certificate) else key_or_cert
    if not isinstance(public, RSAPublicKey):
        raise ConfigError("the key is not an RSA key")
    return public


def fingerprint(key_or_cert: KeyOrCertificate) -> str:
    """Return the key id: lowercase SHA-256 hex of the DER SubjectPublicKeyInfo."""
    der = rsa_public_key(key_or_cert).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_certificate(source: StrPath | bytes) -> x509.Certificate:
    """Load a PEM certificate from a file path, or from PEM bytes given directly."""
    data = source if isinstance(source, bytes) else _read(source)
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError("not a PEM certificate") from exc
    rsa_public_key(certificate)
    return certificate


def load_request_token_certificate(source: StrPath | bytes) -> x509.Certificate:
    """Load a PEM certificate whose key may sign OAuth 2.0 request tokens (D23): RSA (RS256)
    or EC P-256 (ES256), the two algorithms of Mastercard's reference client."""
    data = source if isinstance(source, bytes) else _read(source)
    try:
        certificate = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError("not a PEM certificate") from exc
    _check_request_token_key(certificate.public_key())
    return certificate


def key_id(certificate: x509.Certificate) -> str:
    """SHA-256 hex of the DER SubjectPublicKeyInfo of any certificate's key: the
    :func:`fingerprint` of an RSA key, the same digest for an EC one."""
    der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _check_request_token_key(public: object) -> None:
    if isinstance(public, RSAPublicKey):
        return
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        return
    raise ConfigError("the key is neither an RSA nor an EC P-256 key")


def load_private_key(pem: bytes, password: str | bytes | None = None) -> RSAPrivateKey:
    """Load a PEM RSA private key (PKCS#1 or PKCS#8, encrypted when ``password`` is given)."""
    try:
        key = serialization.load_pem_private_key(pem, _password_bytes(password))
    except (ValueError, TypeError) as exc:
        raise ConfigError("not a readable PEM private key, or wrong password") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError("the private key is not an RSA key")
    return key


def load_pkcs12(
    path: StrPath, password: str | bytes | None
) -> tuple[RSAPrivateKey, x509.Certificate]:
    """Load the RSA private key and its certificate from a PKCS#12 keystore (``.p12``)."""
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(
            _read(path), _password_bytes(password)
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError("not a readable PKCS#12 keystore, or wrong password") from exc
    if not isinstance(key, RSAPrivateKey) or certificate is None:
        raise ConfigError("the keystore holds no RSA private key with a certificate")
    return key, certificate


def load_pkcs12_certificate(path: StrPath, password: str | bytes | None) -> x509.Certificate:
    """The certificate of a PKCS#12 keystore that also holds its private key, RSA or EC P-256
    (what :func:`load_request_token_certificate` accepts); the key is not kept."""
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(
            _read(path), _password_bytes(password)
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError("not a readable PKCS#12 keystore, or wrong password") from exc
    if key is None or certificate is None:
        raise ConfigError("the keystore holds no private key with a certificate")
    _check_request_token_key(certificate.public_key())
    return certificate


def generate_key_pair_and_certificate(
    common_name: str, days: int, *, key_size: int = 2048
) -> tuple[RSAPrivateKey, x509.Certificate]:
    """Create an RSA key and a self-signed certificate valid for ``days`` days from now."""
    if key_size not in KEY_SIZES:
        raise ValueError(f"key_size must be one of {KEY_SIZES}")
    if days < 1:
        raise ValueError("days must be at least 1")
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    return key, builder.sign(key, hashes.SHA256())


def certificate_pem(certificate: x509.Certificate) -> bytes:
    """Return the certificate as PEM bytes."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def public_key_pem(key_or_cert: KeyOrCertificate) -> bytes:
    """Return the RSA public key as a PEM SubjectPublicKeyInfo."""
    return rsa_public_key(key_or_cert).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_key_pem(key: RSAPrivateKey, password: str | bytes | None = None) -> bytes:
    """Return the key as PKCS#8 PEM, encrypted with ``password`` when one is given."""
    secret = _password_bytes(password)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write_private_key(
    path: StrPath, key: RSAPrivateKey, *, password: str | bytes | None = None
) -> None:
    """Write the key as PEM to a new file readable by its owner only (mode 0600).

    The file is created with ``O_CREAT | O_EXCL``: an existing file, or a symlink in its
    place, makes this raise ``FileExistsError`` rather than be overwritten or followed.
    """
    data = private_key_pem(key, password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # the umask may have removed bits, never add them
        handle.write(data)


class Keyring(Mapping[str, RSAPrivateKey]):
    """The server's active decryption keys by key id, with one primary key.

    Clients encrypt to the certificate of the primary key; every key still in the ring
    decrypts, so a rotated-out key keeps working until it is retired. ``get(kid)`` (from
    ``Mapping``) returns ``None`` for an unknown or retired id. The first key added becomes
    primary.
    """

    def __init__(self, keys: Iterable[RSAPrivateKey] = ()) -> None:
        self._keys: dict[str, RSAPrivateKey] = {}
        self._primary: str | None = None
        for key in keys:
            self.add(key)

    def __getitem__(self, kid: str) -> RSAPrivateKey:
        return self._keys[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def primary_kid(self) -> str | None:
        """The key id new certificates are issued for, ``None`` while the ring is empty."""
        return self._primary

    def add(self, key: RSAPrivateKey, *, primary: bool = False) -> str:
        """Add a key (again adding it is harmless) and return its key id."""
        kid = fingerprint(key)
        self._keys[kid] = key
        if primary or self._primary is None:
            self._primary = kid
        return kid

    def promote(self, kid: str) -> None:
        """Make an added key the primary one; ``KeyError`` if it is not in the ring."""
        if kid not in self._keys:
            raise KeyError(kid)
        self._primary = kid

    def retire(self, kid: str) -> None:
        """Remove a key; ``KeyError`` if absent, ``ValueError`` if it is the primary of others."""
        if kid not in self._keys:
            raise KeyError(kid)
        if kid == self._primary and len(self._keys) > 1:
            raise ValueError("promote another key before retiring the primary key")
        del self._keys[kid]
        if kid == self._primary:
            self._primary = None


_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _read(path: StrPath) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {os.fspath(path)}: {exc.strerror}") from exc


def _password_bytes(password: str | bytes | None) -> bytes | None:
    secret = password.encode("utf-8") if isinstance(password, str) else password
    return secret or None
