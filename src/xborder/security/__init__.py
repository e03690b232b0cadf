"""Request authentication (OAuth 1.0a) and payload encryption (JWE) for XBS (D11, D12).

Pure functions and small classes over ``cryptography`` and ``jwcrypto``; no web framework.
The API verifies and decrypts with it, the client signs and encrypts with the same code.
"""

from xborder.security.errors import (
    AuthDeclined,
    AuthenticationFailed,
    AuthHeaderInvalid,
    OAuthError,
    PayloadDecryptionError,
    SecurityError,
)
from xborder.security.jwe import decrypt, encrypt
from xborder.security.keys import (
    KeyOrCertificate,
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
from xborder.security.oauth1 import (
    DEFAULT_TOLERANCE,
    SIGNATURE_METHOD,
    OAuthParams,
    body_hash,
    parse_authorization_header,
    sign,
    signature_base_string,
    verify,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_METHOD",
    "AuthDeclined",
    "AuthHeaderInvalid",
    "AuthenticationFailed",
    "KeyOrCertificate",
    "Keyring",
    "OAuthError",
    "OAuthParams",
    "PayloadDecryptionError",
    "SecurityError",
    "body_hash",
    "certificate_pem",
    "decrypt",
    "encrypt",
    "fingerprint",
    "generate_key_pair_and_certificate",
    "load_certificate",
    "load_pkcs12",
    "load_private_key",
    "parse_authorization_header",
    "private_key_pem",
    "public_key_pem",
    "rsa_public_key",
    "sign",
    "signature_base_string",
    "verify",
    "write_private_key",
]
