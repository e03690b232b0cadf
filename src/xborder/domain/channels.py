"""Receiving channels and how a payment request is classified into one (D4).

The channel is decided once, at creation, and stored: it is never recomputed (D4).
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class Channel(enum.StrEnum):
    """How the recipient receives the money."""

    CASH_OUT = "CASH_OUT"
    BANK_ACCOUNT = "BANK_ACCOUNT"
    CARD = "CARD"
    MOBILE_MONEY = "MOBILE_MONEY"


INSTRUMENT_FIELD = "7260"
"""Additional-data field naming the beneficiary payment instrument (docs/reference.md §2.5)."""

_INSTRUMENTS = {
    "CASH": Channel.CASH_OUT,
    "BANKWIRE": Channel.BANK_ACCOUNT,
    "BANK": Channel.BANK_ACCOUNT,
    "CARD": Channel.CARD,
}
_SCHEMES = {
    "ban": Channel.BANK_ACCOUNT,
    "iban": Channel.BANK_ACCOUNT,
    "pan": Channel.CARD,
    "tel": Channel.MOBILE_MONEY,
    "ewallet": Channel.MOBILE_MONEY,
}
_PRIORITY = (Channel.CASH_OUT, Channel.BANK_ACCOUNT, Channel.CARD, Channel.MOBILE_MONEY)


def classify_channel(
    recipient_uri: str | None,
    additional_value: Callable[[str], str | None],
    *,
    cash_pickup: bool = False,
) -> Channel:
    """Classify a payment by D4's ordered rules; the first rule that matches wins.

    Args:
        recipient_uri: the recipient account URI, if any.
        additional_value: looks up an additional-data field by its numeric name.
        cash_pickup: the request names a cash-pickup provider or branch (D4 rule 1).
    """
    candidates: set[Channel] = set()
    instrument = (additional_value(INSTRUMENT_FIELD) or "").strip().upper()
    if instrument in _INSTRUMENTS:
        candidates.add(_INSTRUMENTS[instrument])
    if cash_pickup:
        candidates.add(Channel.CASH_OUT)
    scheme = uri_scheme(recipient_uri)
    if scheme in _SCHEMES:
        candidates.add(_SCHEMES[scheme])
    for channel in _PRIORITY:
        if channel in candidates:
            return channel
    # A payment by quote may carry no URI at all: treat it as the most restrictive channel,
    # so that D3 never lets it be cancelled outside InsufficientBalance by accident.
    return Channel.BANK_ACCOUNT


def uri_scheme(uri: str | None) -> str:
    """The lower-cased scheme of an account URI (``tel``, ``ban``...), or ``""``."""
    if not uri or ":" not in uri:
        return ""
    return uri.split(":", 1)[0].strip().lower()


def uri_provider(uri: str | None) -> str | None:
    """The ``sp=`` service-provider parameter of an ``ewallet:`` URI, if present."""
    if uri_scheme(uri) != "ewallet" or uri is None:
        return None
    for param in uri.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "sp" and value.strip():
            return value.strip()
    return None
