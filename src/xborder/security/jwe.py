"""Compact JWE payload encryption as XBS uses it (D12): RSA-OAEP-256 with AES-GCM.

The header is written in the order Mastercard's client-encryption library writes it
(``alg``, ``enc``, ``kid``, ``cty``, compact JSON). Decryption accepts exactly what that
library and the XBS samples send: ``alg`` RSA-OAEP-256 and ``enc`` A128GCM, A192GCM or
A256GCM, with any GCM IV length the library uses (it sends 16 bytes, not the 12 of RFC 7518).
Everything else, and any failure of the GCM tag, is a ``PayloadDecryptionError``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509 import Certificate
from jwcrypto.common import JWException
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from xborder.security.errors import PayloadDecryptionError
from xborder.security.keys import KeyOrCertificate, Keyring, rsa_public_key

__all__ = ["ALGORITHM", "ENCRYPTIONS", "decrypt", "encrypt"]

ALGORITHM = "RSA-OAEP-256"
ENCRYPTIONS = ("A128GCM", "A192GCM", "A256GCM")
"""Content encryptions accepted on input; any of them may be chosen for output."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_UNSUPPORTED_HEADERS = ("zip", "crit")


def encrypt(
    plaintext: bytes,
    public_key_or_cert: KeyOrCertificate,
    *,
    kid: str | None,
    cty: str,
    enc: str = "A256GCM",
) -> str:
    """Encrypt ``plaintext`` (not empty) to an RSA key; return the JWE compact serialisation.

    ``kid`` is written when given (normally ``keys.fingerprint`` of the recipient key);
    ``cty`` is the plaintext's media type, e.g. ``application/json`` or ``application/xml``.
    """
    if enc not in ENCRYPTIONS:
        raise ValueError(f"enc must be one of {ENCRYPTIONS}")
    token = _copied(_encrypting(enc, kid, cty))
    token.objects = dict(token.objects)  # add_recipient() fills it in place
    token.plaintext = plaintext if isinstance(plaintext, bytes) else JWE(plaintext).plaintext
    token.add_recipient(_public_jwk(public_key_or_cert))
    return cast(str, token.serialize(compact=True))


def decrypt(compact: str, keyring: Mapping[str, RSAPrivateKey]) -> tuple[bytes, dict[str, Any]]:
    """Decrypt a JWE compact serialisation; return the plaintext and the protected header.

    The key is chosen by the header's ``kid``. Without one, the primary key of a ``Keyring``
    is used, or the only key of any other mapping. Raises ``PayloadDecryptionError`` for an
    unknown ``kid``, an algorithm outside ``RSA-OAEP-256`` / ``ENCRYPTIONS``, a malformed,
    truncated or altered token, or a token for another key.
    """
    header = _protected_header(compact)
    key = _select_key(header.get("kid"), keyring)
    token = _copied(_DECRYPTING)  # deserialize() replaces all of its state but the settings
    try:
        token.deserialize(compact, key=_private_jwk(key))
        plaintext = cast(bytes, token.payload)
    except (JWException, ValueError, TypeError) as exc:
        raise PayloadDecryptionError("JWE does not decrypt") from exc
    return plaintext, header


@lru_cache(maxsize=256)
def _encrypting(enc: str, kid: str | None, cty: str) -> JWE:
    """A template token holding the protected header of :func:`encrypt` (not yet encrypted)."""
    header: dict[str, str] = {"alg": ALGORITHM, "enc": enc}
    if kid is not None:
        header["kid"] = kid
    header["cty"] = cty
    return JWE(protected=json.dumps(header, separators=(",", ":")))


def _blank_decrypting() -> JWE:
    token = JWE()
    token.allowed_algs = [ALGORITHM, *ENCRYPTIONS]
    return token


_DECRYPTING = _blank_decrypting()


def _copied(template: JWE) -> JWE:
    """A shallow copy of a template token, in the state ``JWE()`` would build.

    ``JWE()`` deep-copies jwcrypto's registry of header parameters into every token, which
    costs more than all the rest of an encryption but the RSA operation. jwcrypto
    only reads a token's registry (it writes it only for ``JWE(header_registry=...)``, never
    used here), so copies of one template share it; callers replace what jwcrypto changes in
    place (``objects``). tests/unit/test_security_fast_paths.py pins the equivalence.
    """
    return copy.copy(template)


@lru_cache(maxsize=16)
def _private_jwk(key: RSAPrivateKey) -> JWK:
    """One JWK per key object. jwcrypto rebuilds the RSA key from its numbers in every new JWK,
    with cryptography's key validation (about 0.1 s), and keeps it inside that JWK."""
    return JWK.from_pyca(key)


def _public_jwk(key_or_cert: KeyOrCertificate) -> JWK:
    """The recipient's JWK; one per certificate or private key object (the server seals each
    answer to a project's certificate, parsed once), as for :func:`_private_jwk`."""
    if isinstance(key_or_cert, RSAPublicKey):  # unhashable: nothing to key a cache on
        return JWK.from_pyca(key_or_cert)
    return _cached_public_jwk(key_or_cert)


@lru_cache(maxsize=64)
def _cached_public_jwk(key_or_cert: RSAPrivateKey | Certificate) -> JWK:
    return JWK.from_pyca(rsa_public_key(key_or_cert))


def _protected_header(compact: str) -> dict[str, Any]:
    segments = compact.split(".")
    if len(segments) != 5 or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise PayloadDecryptionError("not a JWE compact serialisation")
    try:
        header = json.loads(_b64url_decode(segments[0]), object_pairs_hook=_unique_members)
    except (binascii.Error, ValueError) as exc:
        raise PayloadDecryptionError("JWE header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise PayloadDecryptionError("JWE header is not a JSON object")
    _check_algorithms(header)
    return header


def _check_algorithms(header: Mapping[str, Any]) -> None:
    if header.get("alg") != ALGORITHM:
        raise PayloadDecryptionError("JWE alg is not RSA-OAEP-256")
    if header.get("enc") not in ENCRYPTIONS:
        raise PayloadDecryptionError("JWE enc is not AES-GCM")
    if any(name in header for name in _UNSUPPORTED_HEADERS):
        raise PayloadDecryptionError("JWE uses zip or crit")


def _select_key(kid: object, keyring: Mapping[str, RSAPrivateKey]) -> RSAPrivateKey:
    if isinstance(kid, str):
        key = keyring.get(kid)
        if key is None:
            raise PayloadDecryptionError("JWE kid names no active key")
        return key
    if kid is not None:
        raise PayloadDecryptionError("JWE kid is not a string")
    if isinstance(keyring, Keyring) and keyring.primary_kid is not None:
        return keyring[keyring.primary_kid]
    if len(keyring) == 1:
        return next(iter(keyring.values()))
    raise PayloadDecryptionError("JWE has no kid and no single key applies")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member in JWE header")
    return members


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
