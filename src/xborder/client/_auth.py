"""OAuth 1.0a request signing with Mastercard's own signer (D11, docs/reference.md §8.1).

:class:`OAuth1Auth` is an ``httpx.Auth``: httpx hands it each request just before it goes on
the wire, with the body already serialised, so the signature covers exactly the bytes sent
(the encrypted wrapper when payload encryption is on). Every send, retries included, gets a
fresh nonce and timestamp.

The body is passed to ``OAuth.get_authorization_header`` as ``bytes``: the signer hashes
bytes as they are, whereas a ``dict`` would be re-serialised with ``json.dumps`` (other
separators, other bytes) and the ``oauth_body_hash`` would no longer match the body.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from oauth1.oauth import OAuth

from xborder.errors import ConfigError
from xborder.security.keys import load_pkcs12, load_private_key

__all__ = ["OAuth1Auth", "load_signing_key"]

PKCS12_SUFFIXES = (".p12", ".pfx")


class OAuth1Auth(httpx.Auth):
    """Signs requests as Mastercard's gateway expects: RSA-SHA256 with ``oauth_body_hash``.

    Args:
        consumer_key: the project's consumer key, from Mastercard Developers.
        signing_key: the project's RSA private key (see :meth:`from_file`).
    """

    requires_request_body = True

    def __init__(self, consumer_key: str, signing_key: RSAPrivateKey) -> None:
        if not consumer_key:
            raise ValueError("consumer_key must not be empty")
        self.consumer_key = consumer_key
        self._signing_key = signing_key

    @classmethod
    def from_file(
        cls, consumer_key: str, path: str | os.PathLike[str], password: str | None = None
    ) -> OAuth1Auth:
        """Load the signing key from a PKCS#12 keystore (``.p12``/``.pfx``) or a PEM file.

        Raises ``xborder.errors.ConfigError`` when the file cannot be read or decrypted.
        """
        return cls(consumer_key, load_signing_key(path, password))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the ``Authorization`` header over the request's exact URL, method and body."""
        request.headers["Authorization"] = OAuth.get_authorization_header(
            str(request.url), request.method, request.content, self.consumer_key, self._signing_key
        )
        yield request

    def __repr__(self) -> str:
        return f"OAuth1Auth(consumer_key={self.consumer_key!r})"


def load_signing_key(path: str | os.PathLike[str], password: str | None = None) -> RSAPrivateKey:
    """The RSA private key of a PKCS#12 keystore (by suffix) or of a PEM file."""
    if Path(path).suffix.lower() in PKCS12_SUFFIXES:
        key, _certificate = load_pkcs12(path, password)
        return key
    return load_private_key(_read(path), password)


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {os.fspath(path)}: {exc.strerror}") from exc
