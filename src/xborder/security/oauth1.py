"""OAuth 1.0a request signing as Mastercard's gateway uses it: RSA-SHA256 plus ``oauth_body_hash``.

The header and the signature base string follow Mastercard's signer
(``oauth1.oauth.OAuth`` in ``mastercard-oauth1-signer``) exactly, quirks included, because
that is what real clients sign. Where the signer departs from RFC 5849:

- header values are sent as they are, except ``oauth_signature``, which is percent-encoded;
- ``oauth_*`` values enter the base string without their own percent-encoding;
- query pairs are re-encoded only when the raw query holds a percent-escape, and otherwise
  enter as written, with a space turned into ``+``;
- pairs are sorted as whole ``name=value`` strings;
- ``;params`` of the last path segment are dropped from the base URL (``urllib.parse.urlparse``).

``verify`` checks in the order of D11: header form (400), consumer key (401), timestamp window
(401), body hash and signature (403). Nonce replay is the caller's: it owns the nonce store.

The base string is percent-encoded by ``_percent_encode``, a stand-in for
``urllib.parse.quote`` kept for speed only while ``make bench`` shows it matters (issue 16;
the figure and the rule are in docs/performance.md, "Stand-ins");
``tests/unit/test_security_fast_paths.py`` holds it equal to ``quote``. Header values are
decoded by urllib's own ``unquote``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import ParseResult, parse_qsl, unquote, urlparse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from xborder.security.errors import AuthDeclined, AuthenticationFailed, AuthHeaderInvalid

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_METHOD",
    "OAuthParams",
    "body_hash",
    "parse_authorization_header",
    "sign",
    "signature_base_string",
    "verify",
]

SIGNATURE_METHOD = "RSA-SHA256"
OAUTH_VERSION = "1.0"
DEFAULT_TOLERANCE = 300
"""Seconds a timestamp may lie before or after the server clock (D11: five minutes)."""

_REQUIRED = (
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_timestamp",
    "oauth_signature_method",
    "oauth_body_hash",
    "oauth_signature",
)
_MAX_HEADER = 8192
_MAX_NONCE = 128
_NONCE_ALPHABET = string.digits + string.ascii_letters
_CREDENTIALS = re.compile(r"(?P<scheme>[!-~]+)(?:[ \t]+(?P<params>.*))?", re.DOTALL)
_PARAM = r'[A-Za-z0-9_]+="[^"]*"'
_PARAMS = re.compile(rf"{_PARAM}(?:[ \t]*,[ \t]*{_PARAM})*")
_PAIR = re.compile(r'([A-Za-z0-9_]+)="([^"]*)"')
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_UNSAFE_IN_HEADER = frozenset(' \t"%,\\')
_UNRESERVED = (string.ascii_letters + string.digits + "-._~").encode("ascii")
_PERCENT = ord("%")
_BYTES = tuple(bytes((byte,)) for byte in range(256))
_ESCAPES = tuple(b"%%%02X" % byte for byte in range(256))


@dataclass(frozen=True, slots=True)
class OAuthParams:
    """The OAuth parameters of one request, percent-decoded.

    ``params`` holds every ``oauth_*`` parameter as sent (``realm`` excluded), which is what
    the signature base string is built from. ``version`` is ``None`` when the client left it
    out (RFC 5849 makes it optional).
    """

    consumer_key: str
    nonce: str
    timestamp: int
    signature_method: str
    version: str | None
    body_hash: str
    signature: bytes = field(repr=False)
    params: Mapping[str, str] = field(repr=False)


def parse_authorization_header(value: str | None) -> OAuthParams:
    """Parse ``OAuth k="v",k="v"`` as Mastercard's signers write it.

    Spaces or tabs around the commas are tolerated and the scheme name is matched without
    regard to case. Raises ``AuthHeaderInvalid`` when the header is missing, not OAuth, has a
    parameter twice, lacks a required one, or names a method other than RSA-SHA256.
    """
    return _parsed_header(value)


@lru_cache(maxsize=256)
def _parsed_header(value: str | None) -> OAuthParams:
    # Cached: the gate reads the header, then verify() reads it again, and OAuthParams is
    # immutable. Every request's header differs (its nonce), so the cache stays small.
    raw = _split_params(value)
    params = _decode_params(raw)
    for name in _REQUIRED:
        if not params.get(name):
            raise AuthHeaderInvalid(f"required parameter {name} missing")
    _check_method_and_version(params)
    return OAuthParams(
        consumer_key=params["oauth_consumer_key"],
        nonce=_checked_nonce(params["oauth_nonce"]),
        timestamp=_parsed_timestamp(params["oauth_timestamp"]),
        signature_method=params["oauth_signature_method"],
        version=params.get("oauth_version"),
        body_hash=params["oauth_body_hash"],
        signature=_decoded_signature(params["oauth_signature"]),
        params=MappingProxyType(params),
    )


def signature_base_string(method: str, url: str, oauth_params: Mapping[str, str]) -> str:
    """Build the signature base string exactly as Mastercard's signer does.

    ``url`` is the request URL as the client addressed it (scheme, host and port, raw path,
    raw query). ``oauth_params`` are the decoded ``oauth_*`` values; ``oauth_signature`` is
    left out if present. Result: ``METHOD&pct(base URL)&pct(sorted name=value pairs)``.
    """
    parts = urlparse(url)
    oauth = {k: v for k, v in oauth_params.items() if k != "oauth_signature"}
    return "&".join(
        (
            method.upper(),
            _percent_encode(_normalized_url(parts)),
            _percent_encode(_normalized_params(parts.query, oauth)),
        )
    )


def body_hash(body: bytes) -> str:
    """Return base64(SHA-256(body)), the ``oauth_body_hash`` value; an absent body is ``b""``."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def verify(
    request_method: str,
    url: str,
    authorization: str | None,
    body: bytes,
    *,
    public_key_for: Callable[[str], RSAPublicKey | None],
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> OAuthParams:
    """Check a request's OAuth 1.0a signature and return its parameters.

    ``public_key_for`` maps a consumer key to the project's signing public key, or ``None``
    when the key is unknown (it may itself raise ``AuthDeclined``, e.g. when the project is
    not entitled). Raises, in this order: ``AuthHeaderInvalid``; ``AuthDeclined`` for an
    unknown key or a timestamp more than ``tolerance`` seconds from ``now``;
    ``AuthenticationFailed`` for a wrong body hash or signature. The nonce is not checked.
    """
    params = parse_authorization_header(authorization)
    public_key = public_key_for(params.consumer_key)
    if public_key is None:
        raise AuthDeclined("unknown consumer key")
    if abs(now - params.timestamp) > tolerance:
        raise AuthDeclined("timestamp outside the accepted window")
    expected = body_hash(body)
    if not hmac.compare_digest(params.body_hash.encode(), expected.encode()):
        raise AuthenticationFailed(
            "body hash does not match the body",
            base_string=signature_base_string(request_method, url, params.params),
            expected_body_hash=expected,
        )
    base_string = signature_base_string(request_method, url, params.params)
    try:
        public_key.verify(
            params.signature, base_string.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as exc:
        raise AuthenticationFailed(
            "signature does not verify", base_string=base_string, expected_body_hash=expected
        ) from exc
    return params


def sign(
    method: str,
    url: str,
    body: bytes,
    *,
    consumer_key: str,
    private_key: RSAPrivateKey,
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """Return an Authorization header value in the exact form of Mastercard's signer.

    ``body`` must be the bytes that will be sent (``b""`` for none). ``nonce`` defaults to 16
    random alphanumerics and ``timestamp`` to the current Unix time.
    """
    params = {
        "oauth_consumer_key": _header_safe("consumer_key", consumer_key),
        "oauth_nonce": _header_safe("nonce", nonce or _new_nonce()),
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_signature_method": SIGNATURE_METHOD,
        "oauth_version": OAUTH_VERSION,
        "oauth_body_hash": body_hash(body),
    }
    base_string = signature_base_string(method, url, params)
    signature = private_key.sign(base_string.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    params["oauth_signature"] = _percent_encode(base64.b64encode(signature).decode("ascii"))
    return "OAuth " + ",".join(f'{name}="{value}"' for name, value in params.items())


def _split_params(value: str | None) -> list[tuple[str, str]]:
    if value is None or not value.strip():
        raise AuthHeaderInvalid("Authorization header missing")
    if len(value) > _MAX_HEADER:
        raise AuthHeaderInvalid("Authorization header too long")
    credentials = _CREDENTIALS.fullmatch(value.strip(" \t"))
    if credentials is None or credentials["scheme"].lower() != "oauth":
        raise AuthHeaderInvalid("Authorization scheme is not OAuth")
    params = credentials["params"] or ""
    if not _PARAMS.fullmatch(params):
        raise AuthHeaderInvalid("Authorization header cannot be parsed")
    return _PAIR.findall(params)


def _decode_params(raw: list[tuple[str, str]]) -> dict[str, str]:
    names = [name for name, _ in raw]
    if len(set(names)) != len(names):
        duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
        raise AuthHeaderInvalid(f"parameter {', '.join(duplicated)} duplicated")
    params: dict[str, str] = {}
    for name, value in raw:
        if name == "realm":  # RFC 5849 3.4.1.3.1: never part of the base string
            continue
        if not name.startswith("oauth_"):
            raise AuthHeaderInvalid(f"unexpected parameter {name}")
        try:
            params[name] = unquote(value, errors="strict")
        except UnicodeDecodeError as exc:
            raise AuthHeaderInvalid(f"parameter {name} is not valid UTF-8") from exc
    return params


def _check_method_and_version(params: Mapping[str, str]) -> None:
    if params["oauth_signature_method"] != SIGNATURE_METHOD:
        raise AuthHeaderInvalid("signature method is not RSA-SHA256")
    if params.get("oauth_version", OAUTH_VERSION) != OAUTH_VERSION:
        raise AuthHeaderInvalid("oauth_version is not 1.0")


def _checked_nonce(nonce: str) -> str:
    if len(nonce) > _MAX_NONCE or not nonce.isprintable():
        raise AuthHeaderInvalid("oauth_nonce malformed")
    return nonce


def _parsed_timestamp(value: str) -> int:
    if not _TIMESTAMP.fullmatch(value):
        raise AuthHeaderInvalid("oauth_timestamp is not a Unix time")
    return int(value)


def _decoded_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthHeaderInvalid("oauth_signature is not base64") from exc


def _normalized_url(parts: ParseResult) -> str:
    netloc = parts.netloc.lower()
    if (parts.scheme, netloc[-3:]) == ("http", ":80"):
        netloc = netloc[:-3]
    elif (parts.scheme, netloc[-4:]) == ("https", ":443"):
        netloc = netloc[:-4]
    return f"{parts.scheme}://{netloc}{parts.path or '/'}"


def _normalized_params(query: str, oauth: Mapping[str, str]) -> str:
    # The signer re-encodes query pairs only when the raw query holds a percent-escape.
    must_encode = query != unquote(query)
    pairs = [
        _encoded_pair(name, value, must_encode)
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]
    pairs.extend(oauth.items())
    return "&".join(sorted(f"{name}={value}" for name, value in pairs))


def _encoded_pair(name: str, value: str, must_encode: bool) -> tuple[str, str]:
    if must_encode:
        return _percent_encode(name), _percent_encode(value)
    return name.replace(" ", "+"), value.replace(" ", "+")


def _percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: only ``A-Z a-z 0-9 - . _ ~`` stay as they are.

    Equal to ``urllib.parse.quote(text, safe="~")``, which maps every byte in Python; this
    finds the distinct unsafe bytes and replaces each of them once, all in C.
    """
    raw = text.encode("utf-8")
    unsafe = set(raw.translate(None, _UNRESERVED))
    if _PERCENT in unsafe:  # first, or the escapes written below would be escaped again
        raw = raw.replace(b"%", b"%25")
        unsafe.discard(_PERCENT)
    for byte in unsafe:
        raw = raw.replace(_BYTES[byte], _ESCAPES[byte])
    return raw.decode("ascii")


def _new_nonce() -> str:
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(16))


def _header_safe(what: str, value: str) -> str:
    if not value or not value.isascii() or not value.isprintable():
        raise ValueError(f"{what} must be printable ASCII")
    if _UNSAFE_IN_HEADER.intersection(value):
        raise ValueError(f"{what} must not contain spaces, quotes, commas, backslashes or %")
    return value
