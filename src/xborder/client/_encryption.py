"""Payload encryption (D12, docs/reference.md §7): JWE RSA-OAEP-256 + A256GCM in the
``encrypted_payload`` wrapper.

JSON payloads go through Mastercard's ``client_encryption`` library (the ecosystem's own
code, configured as docs/reference.md §7 says). XML payloads go through ``xborder.security.jwe``,
because that library is JSON-only: ``encrypt_payload`` raises on an XML text, and
``decrypt_payload`` returns an XML body unchanged, still encrypted, without an error. Both
paths produce and read the same compact JWE, with ``kid`` = SHA-256 of the certificate's
public key.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from client_encryption.encryption_exception import (
    CertificateError,
    EncryptionError,
    KeyWrappingError,
    PrivateKeyError,
)
from client_encryption.jwe_encryption import decrypt_payload, encrypt_payload
from client_encryption.jwe_encryption_config import JweEncryptionConfig
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from xborder.client import _wire
from xborder.client._auth import PKCS12_SUFFIXES, load_signing_key
from xborder.client._errors import ResponseError
from xborder.errors import ConfigError
from xborder.security.errors import PayloadDecryptionError
from xborder.security.jwe import decrypt, encrypt
from xborder.security.keys import fingerprint, load_certificate

__all__ = ["WRAPPER", "PayloadEncryption"]

WRAPPER = "encrypted_payload"
_FIELD = "data"
_CENC_FAILURES = (
    EncryptionError,
    KeyWrappingError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
)
StrPath = str | os.PathLike[str]


class PayloadEncryption:
    """Encrypts request payloads to Mastercard's (or xborder's) certificate and decrypts
    answers with the client's own key.

    Args:
        encryption_certificate: PEM or DER certificate of the server's encryption key.
        decryption_key: the client's private key: PKCS#12 (``.p12``/``.pfx``, with
            ``decryption_key_password``) or an unencrypted PEM/DER key. Mastercard's library
            reads a password only as a PKCS#12 password, hence the rule.
        decryption_key_password: the keystore password.

    Raises:
        xborder.errors.ConfigError: a file cannot be read or is not what it should be.
    """

    def __init__(
        self,
        encryption_certificate: StrPath,
        decryption_key: StrPath,
        decryption_key_password: str | None = None,
    ) -> None:
        if decryption_key_password and Path(decryption_key).suffix.lower() not in PKCS12_SUFFIXES:
            raise ConfigError("a decryption key with a password must be a PKCS#12 keystore")
        certificate = load_certificate(encryption_certificate)
        self.kid = fingerprint(certificate)
        self._certificate = certificate
        self._key_file = (decryption_key, decryption_key_password)
        self._cenc = _cenc_config(encryption_certificate, decryption_key, decryption_key_password)

    def encrypt(self, body: bytes, fmt: _wire.WireFormat) -> bytes:
        """The ``encrypted_payload`` wrapper, in ``fmt``, around a serialised payload."""
        if fmt == "json":
            try:
                wrapper = encrypt_payload(body.decode("utf-8"), self._cenc)
            except _CENC_FAILURES as exc:
                raise ConfigError(f"payload encryption failed: {exc}") from exc
            return _wire.encode(wrapper, "json")
        compact = encrypt(body, self._certificate, kid=self.kid, cty=_wire.media_type(fmt))
        return _wire.encode({WRAPPER: {_FIELD: compact}}, "xml")

    def decrypt(self, body: bytes, fmt: _wire.WireFormat) -> bytes:
        """The plaintext body inside an encrypted answer. Raises :class:`ResponseError`."""
        if fmt == "json":
            return self._decrypt_json(body)
        compact = _compact_of(_wire.decode(body, "xml"))
        try:
            plaintext, _header = decrypt(compact, self._keyring)
        except PayloadDecryptionError as exc:
            raise ResponseError(f"the encrypted answer does not decrypt: {exc.reason}") from exc
        return plaintext

    def _decrypt_json(self, body: bytes) -> bytes:
        try:
            document: Any = decrypt_payload(body.decode("utf-8"), self._cenc)
        except (*_CENC_FAILURES, UnicodeDecodeError) as exc:
            raise ResponseError(f"the encrypted answer does not decrypt: {exc}") from exc
        if not isinstance(document, (Mapping, list)) or WRAPPER in document:
            # the library hands back what it cannot decrypt, unchanged and without an error
            raise ResponseError("the encrypted answer does not decrypt")
        return _wire.json_bytes(document)

    @functools.cached_property
    def _keyring(self) -> dict[str, RSAPrivateKey]:
        """The decryption key for XML answers, read when the first one arrives (a PKCS#12
        keystore is slow to open, and JSON answers never need it)."""
        key = load_signing_key(*self._key_file)
        return {fingerprint(key): key}

    def __repr__(self) -> str:
        return f"PayloadEncryption(kid={self.kid!r})"


def is_encrypted(document: Any) -> bool:
    """Whether a decoded answer is the ``encrypted_payload`` wrapper."""
    return isinstance(document, Mapping) and set(document) == {WRAPPER}


def _compact_of(document: Any) -> str:
    wrapper = document.get(WRAPPER) if isinstance(document, Mapping) else None
    data = wrapper.get(_FIELD) if isinstance(wrapper, Mapping) else None
    if not isinstance(data, str) or not data:
        raise ResponseError("the answer is not an encrypted_payload wrapper")
    return data


def _cenc_config(certificate: StrPath, key: StrPath, password: str | None) -> JweEncryptionConfig:
    config: dict[str, Any] = {
        "paths": {"$": {"toEncrypt": {"$": WRAPPER}, "toDecrypt": {WRAPPER: "$"}}},
        "encryptedValueFieldName": _FIELD,
        "encryptionCertificate": os.fspath(certificate),
        "decryptionKey": os.fspath(key),
    }
    if password:
        config["decryptionKeyPassword"] = password
    try:
        return JweEncryptionConfig(config)
    except (CertificateError, PrivateKeyError, ValueError, KeyError) as exc:
        raise ConfigError(f"Mastercard's client-encryption refused the keys: {exc}") from exc
