"""The XBS payload-encryption wrapper (D12, docs/reference.md §7), on the request and the
response side.

Wire form, the same word in both formats::

    {"encrypted_payload": {"data": "<JWE compact>"}}
    <encrypted_payload><data>JWE compact</data></encrypted_payload>

A request's plaintext media type is the JWE ``cty`` when it names JSON or XML (the D-ENC
sample wraps XML inside the JSON wrapper), else the request's ``Content-Type`` (Mastercard's
client-encryption library always writes ``cty: application/json``). A wrapper that cannot be
read, a JWE that does not decrypt, and a plaintext that is not well-formed JSON or XML are all
:class:`PayloadDecryptionError` (400 062000 Source ``Encrypted Payload``, RequestId null).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography import x509

from xborder.api import problems
from xborder.api.codecs import Codec, DecodeError
from xborder.api.negotiation import codec_for_content_type
from xborder.security import jwe
from xborder.security.errors import PayloadDecryptionError
from xborder.security.keys import fingerprint, load_certificate
from xborder.security.keystore import LiveKeyring

WRAPPER = "encrypted_payload"
VALUE = "data"
HEADER = "x-encrypted"


def wants_encryption(headers: dict[str, str]) -> bool:
    """Whether the request carries ``x-encrypted: true`` (case-insensitive)."""
    return headers.get(HEADER, "").strip().lower() == "true"


def open_payload(
    body: bytes, content_type: str | None, keys: LiveKeyring
) -> tuple[bytes, str | None]:
    """Decrypt an encrypted request body; return the plaintext and its media type.

    An empty body (a retrieve, a cancel without a body) has nothing to decrypt.

    Raises:
        UnsupportedMediaType: the wrapper's ``Content-Type`` is neither JSON nor XML (D9).
        PayloadDecryptionError: see the module docstring (D12).
    """
    if not body:
        return body, content_type
    wrapper_codec = codec_for_content_type(content_type)
    if wrapper_codec is None:
        raise problems.UnsupportedMediaType()
    plaintext, header = _decrypt(_compact(wrapper_codec, body), keys)
    media_type = _plaintext_media_type(header.get("cty"), content_type)
    _check_well_formed(plaintext, media_type)
    return plaintext, media_type


def seal_payload(
    body: bytes, media_type: str, certificate_pem: str
) -> tuple[bytes, dict[str, str]]:
    """Encrypt a success body to the project's client-encryption certificate (kid = its
    fingerprint) and wrap it in the response format; return the body and extra headers."""
    certificate, kid = recipient(certificate_pem)
    compact = jwe.encrypt(body, certificate, kid=kid, cty=media_type)
    codec = codec_for_content_type(media_type)
    if codec is None:  # pragma: no cover - responses are always JSON or XML
        raise ValueError(f"cannot wrap {media_type}")
    return codec.encode({WRAPPER: {VALUE: compact}}), {HEADER: "true"}


@lru_cache(maxsize=256)
def recipient(certificate_pem: str) -> tuple[x509.Certificate, str]:
    """A registered client-encryption certificate, parsed once, and its key id."""
    certificate = load_certificate(certificate_pem.encode("ascii"))
    return certificate, fingerprint(certificate)


def _compact(codec: Codec, body: bytes) -> str:
    try:
        document = codec.decode(body)
    except DecodeError as exc:
        raise PayloadDecryptionError("encrypted payload wrapper is not well-formed") from exc
    wrapper: Any = document.get(WRAPPER)
    value = wrapper.get(VALUE) if isinstance(wrapper, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise PayloadDecryptionError("no encrypted_payload.data in the body")
    return value.strip()


def _decrypt(compact: str, keys: LiveKeyring) -> tuple[bytes, dict[str, Any]]:
    return jwe.decrypt(compact, keys.current())  # the kid picks the key; unknown kid: 400


def _plaintext_media_type(cty: object, content_type: str | None) -> str | None:
    if isinstance(cty, str) and codec_for_content_type(cty) is not None:
        return cty
    return content_type


def _check_well_formed(plaintext: bytes, media_type: str | None) -> None:
    codec = codec_for_content_type(media_type)
    if codec is None or not plaintext:
        raise PayloadDecryptionError("decrypted payload is not JSON or XML")
    try:
        codec.decode(plaintext)
    except DecodeError as exc:
        raise PayloadDecryptionError("decrypted payload is not well-formed") from exc
