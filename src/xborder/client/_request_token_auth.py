"""OAuth 2.0 request tokens for the PSD2 EU and UK hosts (D23, docs/reference.md §8.2).

:class:`RequestTokenAuth` is an ``httpx.Auth`` that sends ``Authorization: Bearer <token>``
with a token made for that one send, as Mastercard's reference client does; retries get a
fresh token too, so a ``jti`` is never sent twice. The token does not cover the method, URL
or body, so unlike :class:`OAuth1Auth` it does not need the request body.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)

from xborder.errors import ConfigError
from xborder.security.request_token import MAX_LIFETIME, make_request_token, signing_algorithm

__all__ = ["RequestTokenAuth"]


class RequestTokenAuth(httpx.Auth):
    """Authenticates every request with a fresh OAuth 2.0 request token (RS256 or ES256).

    Args:
        consumer_key: the project's consumer key, from Mastercard Developers (the ``kid``).
        private_key_pem: the signing key, RSA or EC P-256, as unencrypted PEM.
        certificate_pem: the certificate of that key registered for the project (``x5c``).
        lifetime: seconds from ``iat`` to ``exp``, at most 900 (the reference client's 15
            minutes).
        clock: Unix time now; tests pass a fixed one.

    Raises ``ConfigError`` at once when the key and certificate cannot sign a token.
    """

    def __init__(
        self,
        consumer_key: str,
        private_key_pem: str | bytes,
        certificate_pem: str | bytes,
        *,
        lifetime: int = MAX_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not consumer_key:
            raise ValueError("consumer_key must not be empty")
        if not 0 < lifetime <= MAX_LIFETIME:
            raise ValueError(f"lifetime must be 1 to {MAX_LIFETIME} seconds")
        self.consumer_key = consumer_key
        self.algorithm = signing_algorithm(private_key_pem, certificate_pem)
        self._private_key_pem = private_key_pem
        self._certificate_pem = certificate_pem
        self._lifetime = lifetime
        self._clock = clock

    @classmethod
    def from_pkcs12(
        cls, consumer_key: str, path: str | os.PathLike[str], password: str | None = None
    ) -> RequestTokenAuth:
        """Load the key and its certificate from a PKCS#12 keystore, as Mastercard issues them.

        Raises ``xborder.errors.ConfigError`` when the file cannot be read or decrypted, or
        holds no private key with a certificate.
        """
        key_pem, certificate_pem = _pems_of_pkcs12(path, password)
        return cls(consumer_key, key_pem, certificate_pem)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add ``Authorization: Bearer <token>`` with a token made for this send (D23)."""
        token = make_request_token(
            self._private_key_pem,
            self._certificate_pem,
            self.consumer_key,
            now=int(self._clock()),
            lifetime=self._lifetime,
        )
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def __repr__(self) -> str:
        return f"RequestTokenAuth(consumer_key={self.consumer_key!r}, algorithm={self.algorithm!r})"


def _pems_of_pkcs12(path: str | os.PathLike[str], password: str | None) -> tuple[bytes, bytes]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {os.fspath(path)}: {exc.strerror}") from exc
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(
            data, password.encode("utf-8") if password else None
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError("not a readable PKCS#12 keystore, or wrong password") from exc
    if key is None or certificate is None:
        raise ConfigError("the keystore holds no private key with a certificate")
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return key_pem, certificate.public_bytes(Encoding.PEM)
