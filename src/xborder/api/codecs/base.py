"""The codec contract.

A document is a one-key dict ``{root: value}``; values are ``str``, ``bool``, ``None``
(omitted on output, D10), dicts (element order kept) and lists (repeated elements).
Decoding gives numbers as their literal text, so JSON and XML decode to the same shape.
"""

from __future__ import annotations

from typing import Any, Protocol

Document = dict[str, Any]


class ExplicitNull:
    """A value sent as JSON ``null`` rather than omitted (the Errors envelope's
    ``"Details": null`` and ``"RequestId": null``); XML omits the element."""

    _instance: ExplicitNull | None = None

    def __new__(cls) -> ExplicitNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"


NULL = ExplicitNull()


class DecodeError(ValueError):
    """Raised when bytes are not a well-formed document of the codec's format."""


class Codec(Protocol):
    """A wire format."""

    name: str
    media_type: str

    def decode(self, data: bytes) -> Document:
        """Parse ``data``; raise :class:`DecodeError` when it is not well-formed."""
        ...

    def encode(self, document: Document) -> bytes:
        """Serialise ``document``."""
        ...
