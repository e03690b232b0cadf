"""The authorization-code flow of the PSD2 Balance API (D23): grants and the tokens they issue.

A *grant* is a client's request for access (``GET /oauth2/authorize``), with the redirect URI
its code must be exchanged with. Its life::

    PENDING ──approve──▶ APPROVED ──code collected──▶ ISSUED
       └─────deny──────▶ DENIED

A sandbox project's grant is approved and issued at once (D23: consent granted
automatically); an mtf or production project's waits for an operator.

Tokens (codes, access tokens, refresh tokens) are random strings handed out once and stored
only as their SHA-256: a leaked table yields nothing usable. Invariants:

- codes and access tokens live :data:`CODE_LIFETIME` / :data:`ACCESS_LIFETIME` seconds,
  refresh tokens :data:`REFRESH_LIFETIME` (D23);
- a code is exchanged at most once; presenting it again revokes every token of its grant
  (RFC 6749 §4.1.2);
- a refresh token is spent by its use and replaced (rotation), the replacement expiring when
  the first one of the grant would have: a consent never outlives 90 days silently.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

CODE_LIFETIME = 15 * 60
"""Seconds an authorization code lives (D23)."""
ACCESS_LIFETIME = 15 * 60
"""Seconds an access token lives (D23)."""
REFRESH_LIFETIME = 90 * 24 * 3600
"""Seconds a refresh token lives (D23: 90 days)."""


class GrantStatus(enum.StrEnum):
    """Where a grant is in its life (see the module docstring)."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    ISSUED = "ISSUED"


class TokenKind(enum.StrEnum):
    """What a stored token is."""

    CODE = "code"
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class Grant:
    """A client's request for access to the Balance API of its project; times are Unix
    seconds."""

    grant_id: str
    consumer_key: str
    redirect_uri: str
    state: str | None
    status: GrantStatus
    created_at: int


@dataclass(frozen=True, slots=True)
class StoredToken:
    """A token as stored: its hash, never its value."""

    token_hash: str
    kind: TokenKind
    grant_id: str
    consumer_key: str
    expires_at: int
    revoked: bool = False

    def live(self, kind: TokenKind, now: float) -> bool:
        """Whether this is an unrevoked, unexpired token of ``kind`` at ``now``."""
        return self.kind is kind and not self.revoked and now < self.expires_at


def token_hash(token: str) -> str:
    """The SHA-256 (hex) a token is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
