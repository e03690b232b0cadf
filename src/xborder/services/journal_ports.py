"""What the request journal stores and how it is asked for (issue 14)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol

from xborder.services.ports import DeliveryRecord


class JournalEntry(NamedTuple):
    """One XBS request and its answer, secrets redacted.

    Bodies are text as sent (``*_body``) and, when JWE was used, decrypted (``*_plain``).
    ``explanation`` is a JSON object for a refused authentication: the reason in words and,
    for OAuth 1.0a, the signature base string the server computed and the body hash it
    expected. ``id`` is 0 until the entry is stored.

    A named tuple, not a dataclass: one is built for every request the server answers, and
    a tuple is built (and handed to the driver as a row) several times faster.
    """

    at: datetime
    request_id: str
    method: str
    path: str
    operation: str | None
    partner_id: str | None
    payment_id: str | None
    consumer_key: str | None
    status: int
    reason_code: str | None
    latency_us: int
    encrypted: bool
    request_headers: str
    request_body: str
    request_plain: str | None
    response_body: str
    response_plain: str | None
    explanation: str | None
    id: int = 0


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Which entries a listing wants; None matches anything. ``payment`` matches the payment
    id or reference a request named or answered with."""

    partner_id: str | None = None
    payment: tuple[str, ...] = ()
    status: int | None = None
    since: datetime | None = None


class RequestJournal(Protocol):
    """The stored journal."""

    def add(self, entries: list[JournalEntry]) -> None:
        """Insert ``entries`` (their ``id`` is ignored)."""
        ...

    def prune(self, max_rows: int, older_than: datetime) -> int:
        """Keep at most the newest ``max_rows`` entries, none older than ``older_than``."""
        ...

    def page(self, where: JournalFilter, limit: int, before: int | None) -> list[JournalEntry]:
        """Matching entries, newest first, ids below ``before`` when given."""
        ...

    def get(self, entry_id: int) -> JournalEntry | None:
        """One entry, or None."""
        ...

    def heads(self) -> tuple[int, int, int]:
        """The highest ids of the journal, the outbox and the delivery attempts (0 if none)."""
        ...

    def entries_after(self, after: int, limit: int) -> list[JournalEntry]:
        """Entries with an id above ``after``, oldest first."""
        ...

    def deliveries_after(self, after: int, limit: int) -> list[DeliveryRecord]:
        """Webhook delivery attempts with an id above ``after``, oldest first."""
        ...
