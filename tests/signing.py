"""The client side of D11/D12 for tests: keys, Mastercard's signer and JWE library, wrappers.

Every key is generated at test time into temporary directories; none is ever committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client_encryption.jwe_encryption import decrypt_payload, encrypt_payload
from client_encryption.jwe_encryption_config import JweEncryptionConfig
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from oauth1.oauth import OAuth

from xborder.api.codecs import JSON, XML
from xborder.security import jwe
from xborder.security.keys import (
    Keyring,
    certificate_pem,
    fingerprint,
    generate_key_pair_and_certificate,
    write_private_key,
)

MEDIA = {"json": "application/json", "xml": "application/xml"}
XBS_PATHS = {
    "$": {"toEncrypt": {"$": "encrypted_payload"}, "toDecrypt": {"encrypted_payload": "$"}}
}


@dataclass(frozen=True)
class Party:
    """An RSA key pair with its certificate, written to ``directory`` as PEM files."""

    key: RSAPrivateKey
    cert: x509.Certificate
    key_path: Path
    cert_path: Path

    @property
    def kid(self) -> str:
        return fingerprint(self.cert)

    @property
    def cert_pem(self) -> str:
        return certificate_pem(self.cert).decode("ascii")


def make_party(directory: Path, name: str) -> Party:
    """Generate a key pair into ``directory/name-key.pem`` (0600) and ``name-cert.pem``."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = generate_key_pair_and_certificate(f"test {name}", 30)
    key_path, cert_path = directory / f"{name}-key.pem", directory / f"{name}-cert.pem"
    write_private_key(key_path, key)
    cert_path.write_bytes(certificate_pem(cert))
    return Party(key, cert, key_path, cert_path)


def mastercard_header(
    url: str, method: str, body: bytes | None, consumer_key: str, key: Any
) -> str:
    """The Authorization header Mastercard's signer writes for these exact bytes."""
    payload = body.decode("utf-8") if body else None
    return str(OAuth.get_authorization_header(url, method, payload, consumer_key, key))


def mastercard_jwe(server_cert: Path, client_key: Path) -> JweEncryptionConfig:
    """mastercard-client-encryption configured as Mastercard documents it for XBS."""
    return JweEncryptionConfig(
        {
            "paths": XBS_PATHS,
            "encryptedValueFieldName": "data",
            "encryptionCertificate": str(server_cert),
            "decryptionKey": str(client_key),
        }
    )


def mastercard_encrypt(document: dict[str, Any], config: JweEncryptionConfig) -> bytes:
    """A JSON request body encrypted by Mastercard's library: the wrapper, as sent."""
    return json.dumps(encrypt_payload(document, config)).encode("utf-8")


def mastercard_decrypt(body: bytes, config: JweEncryptionConfig) -> dict[str, Any]:
    """A JSON response body decrypted by Mastercard's library."""
    result: dict[str, Any] = decrypt_payload(json.loads(body), config)
    return result


def our_encrypt(
    plaintext: bytes, server: x509.Certificate, fmt: str, cty: str | None = None
) -> bytes:
    """A request wrapper in ``fmt`` holding ``plaintext`` encrypted with xborder's own JWE."""
    compact = jwe.encrypt(plaintext, server, kid=fingerprint(server), cty=cty or MEDIA[fmt])
    return wrap(compact, fmt)


def wrap(compact: str, fmt: str) -> bytes:
    """The XBS wrapper around a JWE compact serialisation, in ``fmt``."""
    return (JSON if fmt == "json" else XML).encode({"encrypted_payload": {"data": compact}})


def unwrap(body: bytes, fmt: str) -> str:
    """The JWE compact serialisation inside a wrapper."""
    data: str = (JSON if fmt == "json" else XML).decode(body)["encrypted_payload"]["data"]
    return data


def our_decrypt(body: bytes, fmt: str, client: Party) -> tuple[bytes, dict[str, Any]]:
    """A response wrapper decrypted with xborder's own JWE and the client's key."""
    return jwe.decrypt(unwrap(body, fmt), Keyring([client.key]))
