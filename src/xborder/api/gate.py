"""The request gate: the slots where authentication and payload decryption run, before any
body is parsed (D11, D12), and where the request's bookkeeping is recorded inside its own
transaction.

A gate works in two steps. :meth:`Gate.admit` runs before the request's transaction and never
writes: it parses and verifies the credentials against the cached registry and decrypts the
body. :meth:`Gate.record` runs first thing *inside* the request's transaction: it checks that
the registry the decision rested on is still current and records the nonce, so the nonce and
the request's state change commit together (a request refused after the gate still consumes
its nonce: the refusal is answered, not rolled back). :meth:`Gate.settle` runs after commit.

The app's gate is :class:`xborder.api.security_gate.SignedGate`, chosen from the settings;
tests that are not about authentication pass ``tests.fakes.OpenGate``. The routes do not
change with the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from xborder.services.unit_of_work import AbstractUnitOfWork


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
class Nonce:
    """An OAuth nonce to record with the request (D11)."""

    consumer_key: str
    nonce: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request past the gate: who sent it, its plaintext body and media type, and what its
    transaction must check and record (the registry stamp it was admitted under, its nonce)."""

    caller: Caller
    body: bytes
    content_type: str | None
    stamp: int | None = None
    nonce: Nonce | None = None


class Gate(Protocol):
    """Authenticates a request and turns its body into plaintext."""

    def admit(self, incoming: Incoming) -> Admitted:
        """Verify ``incoming``; return the caller and the plaintext body. Raises
        :class:`xborder.errors.XborderError` subclasses the error table knows."""
        ...

    def record(self, uow: AbstractUnitOfWork, admitted: Admitted) -> None:
        """Inside the request's transaction: check the registry stamp and record the nonce.
        Raises :class:`xborder.services.errors.StaleRegistry` (admit again) or a refusal."""
        ...

    def settle(self, admitted: Admitted) -> None:
        """After the request's transaction committed."""
        ...

    def seal(self, caller: Caller, body: bytes, media_type: str) -> tuple[bytes, dict[str, str]]:
        """Encrypt a success body for ``caller`` when its request was encrypted."""
        ...
