"""What the request journal stores and how it is asked for (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from xborder.services.ports import DeliveryRecord

JournalRecord = tuple[Any, ...]
"""A :class:`JournalEntry` as the journal's thread builds it and the storage packs it: the
same fields in the same order, but ``id``, and three in their plain form: ``at`` as seconds
since the epoch, ``request_headers`` as a dict, ``explanation`` as a dict or None. Plain
values go to JSON without a conversion each; the entry is made only when it is read."""


class JournalEntry(NamedTuple):
    """One XBS request and its answer, secrets redacted.

    Bodies are text as sent (``*_body``) and, when JWE was used, decrypted (``*_plain``).
    ``explanation`` is a JSON object for a refused authentication: the reason in words and,
    for OAuth 1.0a, the signature base string the server computed and the body hash it
    expected. ``id`` is 0 until the entry is stored.

    A named tuple: what the journal's pages read, many at a time.
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


def entry_of(record: Sequence[Any], entry_id: int = 0) -> JournalEntry:
    """The entry a record (or the list JSON gives back for one) stands for."""
    at, *middle, headers, body, plain_in, content, plain_out, explanation = record
    return JournalEntry._make(
        (
            datetime.fromtimestamp(at, UTC),
            *middle,
            json.dumps(headers, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            body,
            plain_in,
            content,
            plain_out,
            json.dumps(explanation) if explanation else None,
            entry_id,
        )
    )


SEGMENT_SPAN = 1000
"""Entry ids one segment owns: an entry's id is its segment's number × this + its place."""


def segment_of(entry_id: int) -> int:
    """The number of the segment that holds entry ``entry_id``."""
    return entry_id // SEGMENT_SPAN


@dataclass(frozen=True, slots=True)
class JournalSegment:
    """A batch of entries packed for storage, off the request path (by the storage's own
    ``pack``), so that storing it is one small insert."""

    oldest_at: datetime
    newest_at: datetime
    count: int
    payload: bytes


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

    def add(self, segment: JournalSegment) -> None:
        """Insert records packed beforehand (by the storage's ``pack``)."""
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

    def entries_of_segments(self, segments: Sequence[int]) -> list[JournalEntry]:
        """The entries kept of these segments (see :func:`segment_of`), oldest first."""
        ...

    def deliveries_among(self, ids: Sequence[int]) -> list[DeliveryRecord]:
        """The delivery attempts with these ids, oldest first."""
        ...
