"""The request gate: the slots where authentication and payload decryption run, before any
body is parsed (D11, D12).

The app's default gate is :class:`xborder.api.security_gate.SignedGate`, chosen from the
settings; :class:`OpenGate`, which lets everything through as a sandbox caller, remains for
tests that are not about authentication. The routes do not change with the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as established by the gate."""

    consumer_key: str | None
    environment: str = "sandbox"
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class Incoming:
    """What the gate sees of a request: the URL as the client addressed it, and raw bytes."""

    method: str
    url: str
    partner_id: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request past the gate: who sent it, and its plaintext body and media type."""

    caller: Caller
    body: bytes
    content_type: str | None


class Gate(Protocol):
    """Authenticates a request and turns its body into plaintext."""

    def admit(self, incoming: Incoming) -> Admitted:
        """Verify ``incoming``; return the caller and the plaintext body. Raises
        :class:`xborder.errors.XborderError` subclasses the error table knows."""
        ...

    def seal(self, caller: Caller, body: bytes, media_type: str) -> tuple[bytes, dict[str, str]]:
        """Encrypt a success body for ``caller`` when its request was encrypted."""
        ...


class OpenGate:
    """Admits every request as an unauthenticated sandbox caller."""

    def admit(self, incoming: Incoming) -> Admitted:
        return Admitted(
            Caller(consumer_key=None), incoming.body, incoming.headers.get("content-type")
        )

    def seal(self, caller: Caller, body: bytes, media_type: str) -> tuple[bytes, dict[str, str]]:
        return body, {}
