"""The status-change push signature (D14): ``X-Xborder-Signature: t=<unix>,v1=<hex>``.

``v1`` is HMAC-SHA256 keyed with the partner's webhook secret over ``"<t>.<raw body>"``
(the timestamp, a dot, then the exact bytes POSTed). A receiver recomputes it, compares in
constant time, and refuses a ``t`` too far from its own clock (replays). Pure functions.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Xborder-Signature"
DEFAULT_TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex ``v1`` value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: ``t=<timestamp>,v1=<hex>``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of ``now``."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, fields.get("v1", ""))
