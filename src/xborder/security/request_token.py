"""OAuth 2.0 request tokens of the PSD2 EU and UK hosts (D23, docs/reference.md §8.2 and §11).

A request token is a JWT the client signs for every call and sends as
``Authorization: Bearer <token>``. Its shape is the one Mastercard's reference client
(``crossborder-services-oauth2-reference-app``, ``Oauth2RequestTokenGenerator``) writes:

- header: ``alg`` RS256 for an RSA key or ES256 for an EC P-256 key, ``typ`` ``JWT``,
  ``cty`` ``JWS``, ``kid`` the project's consumer key, ``x5c`` the signing certificate alone
  (base64 DER), and ``x5t#S256`` the RFC 7638 JWK thumbprint (SHA-256) of the certificate's
  public key (not the certificate hash RFC 7515 gives that name; D23 follows the client);
- claims: ``iat`` = ``nbf`` = creation time, ``exp`` = creation + 15 minutes, ``jti`` 32 random
  hex digits. Nothing binds the token to the method, URL or body.

:func:`verify_request_token` checks the form of the header and of the token (400
``AuthHeaderInvalid``), the ``kid`` (401 ``AuthDeclined``), ``x5c``, ``x5t#S256`` and the
signature against the registered certificate (403 ``AuthenticationFailed``), then the claims:
their form (400) and the time window (401). Claims are read only once the signature holds, so
nothing unauthenticated is interpreted. Single use of the ``jti`` is the caller's: it owns the
store. Every JOSE operation is jwcrypto's.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from xborder.errors import ConfigError
from xborder.security.errors import AuthDeclined, AuthenticationFailed, AuthHeaderInvalid

__all__ = [
    "ALGORITHMS",
    "DEFAULT_TOLERANCE",
    "MAX_LIFETIME",
    "RequestToken",
    "make_request_token",
    "signing_algorithm",
    "verify_request_token",
]

ALGORITHMS = ("RS256", "ES256")
"""Signature algorithms a request token may use (D23), as the reference client knows them."""
DEFAULT_TOLERANCE = 300
"""Seconds the client's clock may be ahead of or behind the server's (D23: five minutes)."""
MAX_LIFETIME = 900
"""Longest ``exp - iat`` accepted, in seconds (D23: 15 minutes, the reference client's)."""

_JWT_TYPE = "JWT"
_CONTENT_TYPE = "JWS"  # the reference client writes it; nothing reads it
_UNSUPPORTED_HEADERS = ("crit", "b64")
_MAX_HEADER = 16384  # an RSA-4096 certificate in x5c stays far below
_MAX_JTI = 128
_BEARER = re.compile(
    r"[Bb][Ee][Aa][Rr][Ee][Rr][ ]+(?P<token>[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)"
)


@dataclass(frozen=True, slots=True)
class RequestToken:
    """A verified request token.

    ``accepted_until`` is ``exp`` plus the clock tolerance: the token is accepted until then,
    so the caller must remember ``jti`` at least that long to refuse a replay (D23).
    """

    consumer_key: str
    jti: str
    exp: int
    accepted_until: int


@dataclass(frozen=True, slots=True)
class _Certificate:
    der: bytes
    key: JWK
    thumbprint: str


@dataclass(frozen=True, slots=True)
class _Signer:
    key: JWK
    alg: str
    x5c: str
    thumbprint: str


def verify_request_token(
    authorization: str | None,
    *,
    certificate_for: Callable[[str], str | None],
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
    max_lifetime: int = MAX_LIFETIME,
) -> RequestToken:
    """Check an ``Authorization: Bearer <request token>`` value and return what it proves.

    ``certificate_for`` maps a ``kid`` (the consumer key) to the project's registered signing
    certificate as PEM, or ``None`` when the key is unknown (it may itself raise
    ``AuthDeclined``, e.g. for a project that is not entitled). ``now`` is Unix seconds.

    Raises ``AuthHeaderInvalid`` when the header is missing or not a Bearer JWT we accept
    (``alg`` other than RS256/ES256, ``typ`` not JWT, no ``kid``; a claim missing or
    mistyped); ``AuthDeclined`` for an unknown ``kid``, a token living longer than
    ``max_lifetime``, expired or not yet valid beyond ``tolerance``; ``AuthenticationFailed``
    when ``x5c``, ``x5t#S256`` or the signature does not match the registered certificate;
    ``ConfigError`` when the registered certificate cannot be read. The ``jti`` is returned
    for the caller to record, never checked here.
    """
    token = _parsed_token(authorization)
    header = _checked_header(token)
    pem = certificate_for(header["kid"])
    if pem is None:
        raise AuthDeclined("unknown consumer key")  # D23
    registered = _registered_certificate(pem)
    _check_certificate(header, registered)
    claims = _verified_claims(token, header["alg"], registered.key)
    iat, nbf, exp = (_numeric_date(claims, name) for name in ("iat", "nbf", "exp"))
    jti = _checked_jti(claims)
    _check_window(iat, nbf, exp, now=now, tolerance=tolerance, max_lifetime=max_lifetime)
    return RequestToken(
        consumer_key=header["kid"],
        jti=jti,
        exp=math.ceil(exp),
        accepted_until=math.ceil(exp) + tolerance,
    )


def make_request_token(
    private_key_pem: str | bytes,
    certificate_pem: str | bytes,
    consumer_key: str,
    *,
    now: int,
    lifetime: int = MAX_LIFETIME,
    jti: str | None = None,
) -> str:
    """Return a request token (compact JWS) shaped as Mastercard's reference client makes it.

    RS256 for an RSA key, ES256 for an EC P-256 key; ``certificate_pem`` must certify that key
    (it goes into ``x5c`` and ``x5t#S256``). ``iat`` = ``nbf`` = ``now``, ``exp`` = ``now +
    lifetime``; ``jti`` defaults to 32 random hex digits. Raises ``ConfigError`` for key
    material we cannot use and ``ValueError`` for a lifetime outside 1..``MAX_LIFETIME``.
    """
    if not consumer_key:
        raise ValueError("consumer_key must not be empty")
    if not 0 < lifetime <= MAX_LIFETIME:
        raise ValueError(f"lifetime must be 1 to {MAX_LIFETIME} seconds")  # D23
    signer = _signer(_as_bytes(private_key_pem), _as_bytes(certificate_pem))
    header = {
        "alg": signer.alg,
        "typ": _JWT_TYPE,
        "cty": _CONTENT_TYPE,
        "kid": consumer_key,
        "x5c": [signer.x5c],
        "x5t#S256": signer.thumbprint,
    }
    claims = {"iat": now, "nbf": now, "exp": now + lifetime, "jti": jti or secrets.token_hex(16)}
    token = JWS(_compact_json(claims).encode("utf-8"))
    token.add_signature(signer.key, protected=_compact_json(header))
    return cast(str, token.serialize(compact=True))


def signing_algorithm(private_key_pem: str | bytes, certificate_pem: str | bytes) -> str:
    """Return ``RS256`` or ``ES256``, the algorithm tokens of this key pair are signed with.

    Raises ``ConfigError`` when the key is not an RSA or EC P-256 private key, or when the
    certificate does not certify it: what :func:`make_request_token` would refuse.
    """
    return _signer(_as_bytes(private_key_pem), _as_bytes(certificate_pem)).alg


def _parsed_token(authorization: str | None) -> JWS:
    if authorization is None or not authorization.strip():
        raise AuthHeaderInvalid("Authorization header missing")
    if len(authorization) > _MAX_HEADER:
        raise AuthHeaderInvalid("Authorization header too long")
    bearer = _BEARER.fullmatch(authorization.strip(" \t"))
    if bearer is None:
        raise AuthHeaderInvalid("Authorization is not Bearer and a compact JWS")  # D23
    token = JWS()
    token.allowed_algs = list(ALGORITHMS)
    try:
        token.deserialize(bearer["token"])
    except JWException as exc:
        raise AuthHeaderInvalid("request token is not a JWS") from exc
    return token


def _checked_header(token: JWS) -> dict[str, Any]:
    try:
        header = token.jose_header
    except (JWException, ValueError, TypeError) as exc:
        raise AuthHeaderInvalid("request token header is not a JSON object") from exc
    if not isinstance(header, dict):
        raise AuthHeaderInvalid("request token header is not a JSON object")
    # D23: the algorithms of the reference client, never "none" or an HMAC one.
    if header.get("alg") not in ALGORITHMS:
        raise AuthHeaderInvalid("request token alg is not RS256 or ES256")
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.upper() != _JWT_TYPE:  # media types ignore case
        raise AuthHeaderInvalid("request token typ is not JWT")  # D23
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise AuthHeaderInvalid("request token has no kid")  # D23
    if any(name in header for name in _UNSUPPORTED_HEADERS):
        raise AuthHeaderInvalid("request token uses crit or b64")
    return header


@lru_cache(maxsize=256)
def _registered_certificate(pem: str) -> _Certificate:
    """The registered certificate's DER, public JWK and JWK thumbprint; one parse per PEM."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
        key = JWK.from_pyca(certificate.public_key())
    except (ValueError, TypeError, JWException) as exc:
        raise ConfigError("the registered certificate is not a usable PEM certificate") from exc
    return _Certificate(certificate.public_bytes(Encoding.DER), key, key.thumbprint())


def _check_certificate(header: Mapping[str, Any], registered: _Certificate) -> None:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain:
        raise AuthenticationFailed("request token carries no x5c certificate")  # D23
    if not hmac.compare_digest(_der(chain[0]), registered.der):
        raise AuthenticationFailed("x5c leaf is not the registered certificate")  # D23
    if "x5t#S256" in header and not _same_text(header["x5t#S256"], registered.thumbprint):
        raise AuthenticationFailed("x5t#S256 is not the registered key's thumbprint")  # D23


def _verified_claims(token: JWS, alg: str, key: JWK) -> dict[str, Any]:
    try:
        token.verify(key, alg=alg)
    except JWException as exc:
        raise AuthenticationFailed("request token signature does not verify") from exc  # D23
    try:
        claims = json.loads(token.payload)
    except ValueError as exc:  # not UTF-8 or not JSON
        raise AuthHeaderInvalid("request token claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise AuthHeaderInvalid("request token claims are not a JSON object")
    return claims


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AuthHeaderInvalid(f"request token claim {name} missing or not a NumericDate")
    return value


def _checked_jti(claims: Mapping[str, Any]) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI or not jti.isprintable():
        raise AuthHeaderInvalid("request token claim jti missing or malformed")  # D23
    return jti


def _check_window(
    iat: float, nbf: float, exp: float, *, now: int, tolerance: int, max_lifetime: int
) -> None:
    """D23: at most ``max_lifetime`` from ``iat`` to ``exp``; RFC 7519 bounds, widened by
    ``tolerance``: accepted while ``now < exp + tolerance`` and from ``nbf``/``iat - tolerance``."""
    if not 0 < exp - iat <= max_lifetime:
        raise AuthDeclined("request token lifetime is not within 15 minutes")
    if now >= exp + tolerance:
        raise AuthDeclined("request token expired")
    if now < max(nbf, iat) - tolerance:
        raise AuthDeclined("request token not yet valid")


def _der(encoded: object) -> bytes:
    """The DER bytes of an ``x5c`` entry (standard base64, RFC 7515 §4.1.6), or ``b""``."""
    if not isinstance(encoded, str):
        return b""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _same_text(value: object, expected: str) -> bool:
    return isinstance(value, str) and hmac.compare_digest(value.encode(), expected.encode())


@lru_cache(maxsize=16)
def _signer(private_key_pem: bytes, certificate_pem: bytes) -> _Signer:
    """The signing JWK and header values of a key pair; one per pair, because jwcrypto
    validates an RSA private key (about 0.1 s) each time it builds a JWK from it."""
    try:
        key = JWK.from_pem(private_key_pem)
        certificate = x509.load_pem_x509_certificate(certificate_pem)
        public = JWK.from_pyca(certificate.public_key())
    except (ValueError, TypeError, JWException) as exc:
        raise ConfigError("not a usable PEM private key and PEM certificate") from exc
    if not key.has_private:
        raise ConfigError("the private key PEM holds no private key")
    if public.thumbprint() != key.thumbprint():
        raise ConfigError("the certificate does not certify the private key")
    der = certificate.public_bytes(Encoding.DER)
    return _Signer(key, _algorithm(key), base64.b64encode(der).decode("ascii"), key.thumbprint())


def _algorithm(key: JWK) -> str:
    if key.get("kty") == "RSA":
        return "RS256"
    if key.get("kty") == "EC" and key.get("crv") == "P-256":
        return "ES256"
    raise ConfigError("the signing key must be RSA or EC P-256")  # D23


def _as_bytes(pem: str | bytes) -> bytes:
    return pem.encode("utf-8") if isinstance(pem, str) else pem


def _compact_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))
