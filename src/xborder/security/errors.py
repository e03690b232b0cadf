"""Errors of request authentication and payload encryption (D11, D12, D23).

Hierarchy::

    XborderError                        (xborder.errors)
    └── SecurityError                   authentication or payload encryption fails
        ├── OAuthError                  OAuth 1.0a or a request token refused (Source ``Gateway``)
        │   ├── AuthHeaderInvalid       the Authorization header is missing or malformed
        │   ├── AuthDeclined            well-formed, but the credentials are refused
        │   └── AuthenticationFailed    the body hash or the signature does not verify
        └── PayloadDecryptionError      an encrypted payload cannot be decrypted
            ├── EncryptionNotSetUp      encryption asked for, but no certificate to answer to
            └── EncryptionRequired      a plaintext body from a ``required`` project (D20)

Nothing here knows HTTP: ``xborder.api.errors`` maps each class to its status. Each class
carries the XBS wire identity of its D11/D12 row (``reason_code``, ``source``). ``reason`` is
a short text for logs; it never holds key material, signatures, nonces or payload.
"""

from __future__ import annotations

from typing import ClassVar

from xborder.errors import XborderError

__all__ = [
    "AuthDeclined",
    "AuthHeaderInvalid",
    "AuthenticationFailed",
    "EncryptionNotSetUp",
    "EncryptionRequired",
    "OAuthError",
    "PayloadDecryptionError",
    "SecurityError",
]


class SecurityError(XborderError):
    """Base of authentication and payload-encryption failures; ``reason`` says why, for logs."""

    reason_code: ClassVar[str] = ""
    source: ClassVar[str] = ""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OAuthError(SecurityError):
    """Base of the OAuth 1.0a refusals of D11 and the request-token refusals of D23; all are
    gateway errors without a detail code."""

    source = "Gateway"


class AuthHeaderInvalid(OAuthError):
    """Raised when the Authorization header is missing, not OAuth, lacks or repeats a parameter,
    names a signature method other than RSA-SHA256, or cannot be parsed (D11 row 1); or is
    not ``Bearer`` and a request token we accept: a JWT with ``alg`` RS256 or ES256, ``typ``,
    ``kid`` and well-formed ``iat``, ``nbf``, ``exp`` and ``jti`` (D23)."""

    reason_code = "INVALID_AUTH_HEADER"


class AuthDeclined(OAuthError):
    """Raised when the consumer key is unknown or not entitled, the timestamp is outside the
    window, or the nonce was seen before (D11 row 2); or when a request token's ``kid`` is
    unknown, it lives longer than 15 minutes, is expired or not yet valid, or its ``jti`` was
    seen before (D23)."""

    reason_code = "DECLINED"


class AuthenticationFailed(OAuthError):
    """Raised when the body hash or the RSA signature does not verify (D11 row 3), or when a
    request token's ``x5c``, ``x5t#S256`` or signature does not match the registered
    certificate (D23)."""

    reason_code = "AUTHENTICATION_FAILED"

    def __init__(
        self, reason: str, *, base_string: str | None = None, expected_body_hash: str | None = None
    ) -> None:
        super().__init__(reason)
        # For the request journal's explanation (issue 14): what the server computed. Neither
        # holds a secret: the base string leaves oauth_signature out, the hash is the body's.
        self.base_string = base_string
        self.expected_body_hash = expected_body_hash


class PayloadDecryptionError(SecurityError):
    """Raised when an encrypted payload is not a JWE we accept or does not decrypt (D12)."""

    reason_code = "INVALID_INPUT_FORMAT"
    detail_code: ClassVar[str] = "062000"
    source = "Encrypted Payload"


class EncryptionNotSetUp(PayloadDecryptionError):
    """Raised when a request asks for encryption (``x-encrypted: true``) but its project has no
    client-encryption certificate to encrypt the answer to, or the request is unsigned. It is
    refused before anything runs, so no payment is created whose answer could not be sent."""


class EncryptionRequired(PayloadDecryptionError):
    """Raised when a project whose policy is ``required`` (D20) sends a request body without
    ``x-encrypted: true``. It is refused before anything runs; its Description is
    ``xborder.api.errors.ENCRYPTION_REQUIRED`` rather than the 062000 default."""
