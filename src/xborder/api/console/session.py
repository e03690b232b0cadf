"""The console's credential handling: one-time login links, session cookies, CSRF tokens.

Everything is derived from the admin token (``XBORDER_ADMIN_TOKEN``) with HMAC-SHA256, so
several server processes agree without sharing state, and changing the token ends every
session. A login link carries ``<expiry>.<nonce>.<mac>``; its nonce is recorded in the
database when used (the ``nonces`` table, under :data:`LOGIN_KEY_OWNER`, kept until the
link expires), so each link logs in once. A session cookie carries ``<expiry>.<mac>``; a
form's CSRF token is a MAC of the session cookie, so it is worthless without the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

LOGIN_KEY_OWNER = "xborder-console-login"
"""The ``consumer_key`` under which used login-link nonces are recorded."""

LINK_SECONDS = 24 * 3600
SESSION_SECONDS = 12 * 3600
COOKIE = "xborder_console"


@dataclass(frozen=True, slots=True)
class LoginKey:
    """A login link's key, verified: its nonce must still be recorded as used."""

    nonce: str
    expires: int


class ConsoleKeys:
    """MACs under one admin token."""

    def __init__(self, token: str) -> None:
        self._key = hashlib.sha256(b"xborder-console\x00" + token.encode()).digest()

    def _mac(self, purpose: str, message: str) -> str:
        data = f"{purpose}\x00{message}".encode()
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def login_key(self, now: float | None = None) -> str:
        """A new one-time login key, valid for :data:`LINK_SECONDS`."""
        expires = int(now if now is not None else time.time()) + LINK_SECONDS
        nonce = secrets.token_urlsafe(16)
        message = f"{expires}.{nonce}"
        return f"{message}.{self._mac('login', message)}"

    def check_login_key(self, key: str, now: float | None = None) -> LoginKey | None:
        """The key's nonce and expiry when its MAC holds and it has not expired."""
        expires, _, rest = key.partition(".")
        nonce, _, mac = rest.rpartition(".")
        if not _ascii_digits(expires) or not nonce or not mac:
            return None
        if not _same(mac, self._mac("login", f"{expires}.{nonce}")):
            return None
        if int(expires) <= (now if now is not None else time.time()):
            return None
        return LoginKey(nonce, int(expires))

    def session(self, now: float | None = None) -> str:
        """A new session cookie value."""
        expires = str(int(now if now is not None else time.time()) + SESSION_SECONDS)
        return f"{expires}.{self._mac('session', expires)}"

    def check_session(self, value: str | None, now: float | None = None) -> bool:
        """Whether ``value`` is a session cookie of this token that has not expired."""
        if not value:
            return False
        expires, _, mac = value.partition(".")
        if not _ascii_digits(expires) or not _same(mac, self._mac("session", expires)):
            return False
        return int(expires) > (now if now is not None else time.time())

    def csrf(self, session: str) -> str:
        """The CSRF token of forms shown to the holder of ``session``."""
        return self._mac("csrf", session)

    def check_csrf(self, session: str, token: str) -> bool:
        return _same(token, self.csrf(session))


def _ascii_digits(text: str) -> bool:
    """``str.isdigit`` alone also takes "²", which ``int`` refuses; a cookie or a link can
    hold anything."""
    return text.isascii() and text.isdigit()


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison of text a client sent (``compare_digest`` refuses ``str``
    with non-ASCII characters: compare their UTF-8 bytes)."""
    return hmac.compare_digest(given.encode(), expected.encode())
