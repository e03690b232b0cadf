"""Retry logic, written once for both clients as generators (the shape of httpx's
``Auth.auth_flow``): a flow yields :class:`Send` or :class:`Sleep` steps, the client performs
each step (blocking or awaiting) and sends the outcome back in.

Rules (docs/reference.md §9, D6, D7):

- A read (retrieve, find, balance) is retried when the outcome is unknown: no answer, or 5xx.
- A create is retried in the same cases with the same bytes (same ``transaction_reference``,
  same payload), which D7 turns into a replay of the first payment, never a second one.
- A cancel is repeated only when its outcome is unknown, and never blindly: a Retrieve first
  tells whether an earlier attempt landed (the payment is ``CANCELLED``: success). A 130111
  on a repeated cancel is settled the same way, since our own lost attempt may be the reason.
- Pauses grow exponentially with jitter, and the number of attempts is bounded.
"""

from __future__ import annotations

import secrets
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from xborder.client._core import Answer, Call, Core
from xborder.client._errors import (
    ClientError,
    DeclinedError,
    NotFoundError,
    ServerError,
    TransportError,
)
from xborder.client._models import Cancellation, Payment

__all__ = ["Flow", "RetryPolicy", "Send", "Sleep", "cancel", "exchange", "payment"]

T = TypeVar("T")
UNKNOWN_OUTCOME = (TransportError, ServerError)
CANCELLED = "CANCELLED"
_jitter = secrets.SystemRandom()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a call whose outcome is unknown.

    Args:
        attempts: requests sent at most for one call, the first included (1 = no retry).
        backoff: the first pause in seconds; each further pause doubles, up to ``max_backoff``.
        max_backoff: the longest pause.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_backoff < self.backoff:
            raise ValueError("attempts >= 1 and 0 <= backoff <= max_backoff are required")

    def delay(self, failures: int) -> float:
        """The pause after ``failures`` failed attempts: half fixed, half random."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (failures - 1))
        return ceiling / 2 + _jitter.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Send:
    """Send this call; the outcome sent back is an ``httpx.Response`` or an exception."""

    call: Call


@dataclass(frozen=True, slots=True)
class Sleep:
    """Pause this many seconds; ``None`` is sent back."""

    seconds: float


Flow = Generator[Send | Sleep, Any, T]


def exchange(core: Core, call: Call, policy: RetryPolicy) -> Flow[Answer]:
    """Send ``call`` until it has a definite answer or the attempts are used up."""
    failures = 0
    while True:
        outcome = yield Send(call)
        try:
            return core.read(call, outcome)
        except UNKNOWN_OUTCOME:
            failures += 1
            if failures >= policy.attempts:
                raise
        yield Sleep(policy.delay(failures))


def payment(core: Core, call: Call, policy: RetryPolicy) -> Flow[Payment]:
    """A create, retrieve or find, read as a :class:`Payment`."""
    answer = yield from exchange(core, call, policy)
    return core.payment(answer)


def cancel(core: Core, key: str, policy: RetryPolicy) -> Flow[Cancellation]:
    """Cancel by id or reference, confirming by Retrieve whenever an answer was lost."""
    attempt, lost = 0, False
    while True:
        attempt += 1
        if lost:
            yield Sleep(policy.delay(attempt - 1))
            confirmed = yield from _confirm(core, key, attempt - 1)
            if confirmed is not None:
                return confirmed
        call = core.cancel(key)
        outcome = yield Send(call)
        try:
            answer = core.read(call, outcome)
        except UNKNOWN_OUTCOME:
            if attempt < policy.attempts:
                lost = True
                continue
            confirmed = yield from _confirm(core, key, attempt)
            if confirmed is None:
                raise
            return confirmed
        except DeclinedError:
            if not lost:
                raise
            confirmed = yield from _confirm(core, key, attempt)
            if confirmed is None:
                raise
            return confirmed
        return Cancellation(key, core.cancel_status(answer), attempt, raw=answer.raw)


def _confirm(core: Core, key: str, attempts: int) -> Flow[Cancellation | None]:
    """A success when a Retrieve shows the payment CANCELLED, else ``None``."""
    found = yield from _retrieve(core, key)
    if found is None or found.status != CANCELLED:
        return None
    return Cancellation(key, "SUCCESS", attempts, confirmed=True, payment=found)


def _retrieve(core: Core, key: str) -> Flow[Payment | None]:
    """One look-up, as the server resolves a cancel key (D2): by id, then by reference."""
    for call in (core.get(key), core.find(key)):
        outcome = yield Send(call)
        try:
            return core.payment(core.read(call, outcome))
        except NotFoundError:
            continue
        except ClientError:
            return None
    return None
