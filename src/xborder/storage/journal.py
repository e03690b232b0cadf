"""SqlAlchemyRequestJournal: the request journal, stored in segments (issue 14).

One journal write is one row of ``journal_segments``: its entries as one JSON array,
compressed (zlib's fastest level: the entries of a segment repeat their headers and most of
their paths, and a tenth of the bytes is a tenth of the WAL and checkpoint work), so a request
costs the database a share of one small insert, and pruning deletes whole segments. An
entry's id is ``segment id * SEGMENT_SPAN + its place in the segment``: unique across the
processes that write (the segment id is the table's own key) and increasing with the order
of the writes. Lookups read segments newest first and filter their entries here; the
journal is bounded (``XBORDER_JOURNAL_MAX_ROWS``), so that is a few thousand entries.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

from xborder.services.journal_ports import (
    SEGMENT_SPAN,
    JournalEntry,
    JournalFilter,
    JournalRecord,
    JournalSegment,
    entry_of,
    segment_of,
)
from xborder.services.ports import DeliveryRecord
from xborder.storage.tables import journal_segments, outbox, webhook_deliveries
from xborder.storage.webhooks import DELIVERIES, unlocked

_AT, _PARTNER, _PAYMENT, _STATUS = (
    JournalEntry._fields.index(name) for name in ("at", "partner_id", "payment_id", "status")
)
_S = journal_segments.c
_SEGMENT = sa.select(_S.id, _S.skip, _S.entries)
_EXTENTS = sa.select(_S.id, _S.skip, _S.count, _S.oldest_at, _S.newest_at).order_by(_S.id.desc())
_INSERT = journal_segments.insert()
# A segment another process holds is being pruned by it: passed by, never waited for (a
# prune runs in a writer group beside requests; see xborder.storage.webhooks on the waits
# between two processes' groups). SQLite, whose writers never overlap, ignores the clause.
_UNLOCKED = unlocked(_S.id, _S.id == sa.bindparam("segment"))
_DELETE = journal_segments.delete().where(_S.id.in_(_UNLOCKED))
_SKIP = (
    journal_segments.update()
    .where(_S.id.in_(_UNLOCKED))
    .values(skip=sa.bindparam("skip"), count=sa.bindparam("kept"))
)

Row = list[Any]
"""A :data:`~xborder.services.journal_ports.JournalRecord` as read back from JSON."""


def pack(records: Sequence[JournalRecord]) -> JournalSegment:
    """``records`` (at most :data:`SEGMENT_SPAN`) as one segment: one JSON array,
    compressed. Pure: the request journal's thread calls it, so the transaction only inserts
    the result."""
    if not 0 < len(records) <= SEGMENT_SPAN:
        raise ValueError(f"a segment holds 1 to {SEGMENT_SPAN} records, not {len(records)}")
    times = [record[_AT] for record in records]
    payload = zlib.compress(orjson.dumps(records), 1)
    return JournalSegment(_instant(min(times)), _instant(max(times)), len(records), payload)


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _decode(stored: bytes) -> list[Row]:
    rows: list[Row] = orjson.loads(zlib.decompress(stored))
    return rows


def _drop(connection: Connection, segment_id: int, skip: int, count: int, drop: int) -> bool:
    """Drop the ``drop`` oldest of a segment's ``count`` entries (all of them: the segment);
    False when another process holds the segment."""
    if drop >= count:
        done = connection.execute(_DELETE, {"segment": segment_id})
    else:
        moved = {"segment": segment_id, "skip": skip + drop, "kept": count - drop}
        done = connection.execute(_SKIP, moved)
    return bool(done.rowcount == 1)


def _numbered(segment: Any) -> list[tuple[int, Row]]:
    """The entries a segment (a row of ``_SEGMENT``) keeps, each with its id, oldest first."""
    segment_id, skip, entries = segment
    return list(enumerate(_decode(entries)[skip:], start=segment_id * SEGMENT_SPAN + skip))


def _matches(where: JournalFilter) -> Callable[[Row], bool]:
    since = where.since.timestamp() if where.since is not None else None
    payments = frozenset(where.payment)

    def matches(row: Row) -> bool:
        return (
            (where.partner_id is None or row[_PARTNER] == where.partner_id)
            and (not payments or row[_PAYMENT] in payments)
            and (where.status is None or row[_STATUS] == where.status)
            and (since is None or row[_AT] >= since)
        )

    return matches


class SqlAlchemyRequestJournal:
    """Implements :class:`xborder.services.journal_ports.RequestJournal`."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def add(self, segment: JournalSegment) -> None:
        values = {
            "oldest_at": segment.oldest_at,
            "newest_at": segment.newest_at,
            "skip": 0,
            "count": segment.count,
            "entries": segment.payload,
        }
        self._connection().execute(_INSERT, values)

    def prune(self, max_rows: int, older_than: datetime) -> int:
        """Drop the segments past the age or the count; of the one segment that straddles a
        limit, skip the older entries (its ``skip`` moves; they are never read again and go
        with the segment). A segment another process holds is left to it, uncounted."""
        connection = self._connection()
        removed = kept = 0
        for segment_id, skip, count, oldest_at, newest_at in connection.execute(_EXTENTS).all():
            drop = count
            if newest_at >= older_than and kept < max_rows:
                drop = max(0, count - (max_rows - kept))
                if oldest_at < older_than:
                    drop = max(drop, self._older(connection, segment_id, older_than))
            if drop and not _drop(connection, segment_id, skip, count, drop):
                drop = 0  # another process holds the segment: it prunes it
            removed += drop
            kept += count - drop
        return removed

    def _older(self, connection: Connection, segment_id: int, older_than: datetime) -> int:
        """How many of a segment's kept entries, from its oldest, are older than
        ``older_than`` (a segment's entries are in the order they were answered)."""
        segment = connection.execute(_SEGMENT.where(_S.id == segment_id)).one()
        older, limit = 0, older_than.timestamp()
        for _, row in _numbered(segment):
            if row[_AT] >= limit:
                break
            older += 1
        return older

    def page(self, where: JournalFilter, limit: int, before: int | None) -> list[JournalEntry]:
        query = _SEGMENT.order_by(_S.id.desc())
        if before is not None:
            query = query.where(_S.id <= segment_of(before - 1))
        if where.since is not None:
            query = query.where(_S.newest_at >= where.since)
        matches = _matches(where)
        found: list[JournalEntry] = []
        for entry_id, row in self._newest_first(query):
            if (before is None or entry_id < before) and matches(row):
                found.append(entry_of(row, entry_id))
                if len(found) >= limit:
                    break
        return found

    def _newest_first(self, query: sa.Select[Any]) -> Iterator[tuple[int, Row]]:
        for segment in self._connection().execute(query):
            yield from reversed(_numbered(segment))

    def get(self, entry_id: int) -> JournalEntry | None:
        if entry_id < 0:
            return None
        query = _SEGMENT.where(_S.id == segment_of(entry_id))
        segment = self._connection().execute(query).first()
        if segment is None:
            return None
        for numbered, row in _numbered(segment):
            if numbered == entry_id:
                return entry_of(row, entry_id)
        return None

    def heads(self) -> tuple[int, int, int]:
        newest = sa.select(_S.id * SEGMENT_SPAN + _S.skip + _S.count - 1).order_by(_S.id.desc())
        query = sa.select(
            newest.limit(1).scalar_subquery(),
            sa.select(sa.func.max(outbox.c.id)).scalar_subquery(),
            sa.select(sa.func.max(webhook_deliveries.c.id)).scalar_subquery(),
        )
        row = self._connection().execute(query).one()
        return (row[0] or 0, row[1] or 0, row[2] or 0)

    def entries_after(self, after: int, limit: int) -> list[JournalEntry]:
        query = _SEGMENT.where(_S.id >= segment_of(max(after, 0))).order_by(_S.id)
        found: list[JournalEntry] = []
        for segment in self._connection().execute(query):
            for entry_id, row in _numbered(segment):
                if entry_id > after:
                    found.append(entry_of(row, entry_id))
                    if len(found) >= limit:
                        return found
        return found

    def deliveries_after(self, after: int, limit: int) -> list[DeliveryRecord]:
        query = DELIVERIES.where(webhook_deliveries.c.id > after).limit(limit)
        return [DeliveryRecord(**row) for row in self._connection().execute(query).mappings()]

    def entries_of_segments(self, segments: Sequence[int]) -> list[JournalEntry]:
        if not segments:
            return []
        query = _SEGMENT.where(_S.id.in_(segments)).order_by(_S.id)
        return [
            entry_of(row, entry_id)
            for segment in self._connection().execute(query)
            for entry_id, row in _numbered(segment)
        ]

    def deliveries_among(self, ids: Sequence[int]) -> list[DeliveryRecord]:
        if not ids:
            return []
        query = DELIVERIES.where(webhook_deliveries.c.id.in_(ids))
        return [DeliveryRecord(**row) for row in self._connection().execute(query).mappings()]
