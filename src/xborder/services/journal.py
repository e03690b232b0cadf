"""The request journal (issue 14): every XBS request and its answer, kept off the request path.

The endpoint hands a small record of each answered request to :meth:`RequestRecorder.offer`,
which only appends it to a bounded in-memory ring (a full ring drops its oldest record and
counts the drop). The recorder's thread drains the ring ten times a second: it tells its
listeners (the metrics) of each record, turns the records into :data:`JournalRecord` rows
(redaction and decoding happen here, not on the request path), packs them as the storage
stores them (a compressed segment; compression runs without the GIL) and hands them to ``write``,
which runs them in the process's writer: on SQLite they join the next group of request
writes, so the journal neither holds the write lock the requests wait on nor adds a commit
(xborder.storage.writer). Retention prunes in steps (a quarter of ``max_rows`` at a time, and
by age once a minute) rather than on every batch. A failed write is logged and its entries
dropped: the journal is a diagnostic aid and must never slow or fail a request.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from xborder.services.journal_ports import (
    JournalEntry,
    JournalFilter,
    JournalRecord,
    JournalSegment,
)
from xborder.services.payments import UowFactory
from xborder.services.unit_of_work import WriteRunner

log = logging.getLogger("xborder.journal")

T = TypeVar("T")

RING_SIZE = 10_000
"""Records waiting for the writer; beyond it the oldest are dropped (and counted)."""

BATCH = 500
"""Entries per write unit: a unit shares its group's transaction with requests, so bounded."""

AGE_PRUNE_EVERY = 60.0
"""Seconds between prunes by age when the count alone does not call for one."""

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of the journal is kept (``XBORDER_JOURNAL_MAX_ROWS``, ``..._MAX_AGE``)."""

    enabled: bool = True
    max_rows: int = 5000
    max_age: timedelta = timedelta(hours=24)

    @property
    def prune_step(self) -> int:
        """New entries between two prunes by count: the journal holds at most ``max_rows``
        plus this many, and each prune deletes a block of entries rather than a few."""
        return max(1, self.max_rows // 4)


class RequestRecorder(Generic[T]):
    """The ring and the background writer; ``build`` turns what the endpoint offered (its
    trace of a request) into the :data:`JournalRecord` the storage packs."""

    def __init__(
        self,
        build: Callable[[T], JournalRecord],
        *,
        pack: Callable[[list[JournalRecord]], JournalSegment],
        write: WriteRunner,
        retention: Retention,
        listeners: Sequence[Callable[[T], None]] = (),
        interval: float = 0.1,
        ring_size: int = RING_SIZE,
    ) -> None:
        self._ring: collections.deque[T] = collections.deque(maxlen=ring_size)
        self._build = build
        self._pack = pack  # the storage's: on this thread, so a write is one small insert
        self._write = write
        self.retention = retention
        self._listeners = tuple(listeners)
        self._interval = interval
        self.dropped = 0
        self._unpruned = 0  # rows written since the last prune
        self._pruned_at = time.monotonic()
        self._lock = threading.Lock()  # one drain at a time (the thread, or a test's flush)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xborder-journal", daemon=True)

    def offer(self, record: T) -> None:
        """On the request path: keep ``record`` for the writer. Never blocks, never raises."""
        ring = self._ring
        if len(ring) == ring.maxlen:
            self.dropped += 1
        ring.append(record)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and write what arrived before (call it off the event loop: on
        SQLite the last rows join the loop's groups)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.flush()

    def flush(self, *, prune: bool = True) -> int:
        """Write everything waiting now, then (by default) prune; the number of entries
        written."""
        with self._lock:
            return self._drain(prune=prune)

    def _drain(self, *, prune: bool) -> int:
        ring, offered = self._ring, []
        while ring:
            offered.append(ring.popleft())
        self._tell(offered)
        if not self.retention.enabled:
            return 0
        built = [record for record in map(self._safe_build, offered) if record is not None]
        written = 0
        for start in range(0, len(built), BATCH):
            written += self._store(built[start : start + BATCH], prune=False)
        if prune or self._due():
            self._store([], prune=True)
        return written

    def _tell(self, records: list[T]) -> None:
        for listener in self._listeners:
            for record in records:
                try:
                    listener(record)
                except Exception:
                    log.exception("journal listener failed")

    def _safe_build(self, record: T) -> JournalRecord | None:
        try:
            return self._build(record)
        except Exception:  # a record that cannot be built is skipped, the others go on
            log.exception("journal record could not be built")
            return None

    def _due(self) -> bool:
        return (
            self._unpruned >= self.retention.prune_step
            or time.monotonic() - self._pruned_at >= AGE_PRUNE_EVERY
        )

    def _store(self, entries: list[JournalRecord], *, prune: bool) -> int:
        max_rows, oldest = self.retention.max_rows, datetime.now(UTC) - self.retention.max_age
        segment = self._pack(entries) if entries else None

        def unit(uow_factory: UowFactory) -> None:
            with uow_factory() as uow:
                if segment is not None:
                    uow.journal.add(segment)
                if prune:
                    uow.journal.prune(max_rows, oldest)
                uow.commit()

        try:
            self._write(unit)
        except Exception:  # never let the journal take the server down
            log.exception("journal write of %d entries dropped", len(entries))
            return 0
        if prune:
            self._unpruned, self._pruned_at = 0, time.monotonic()
        else:
            self._unpruned += len(entries)
        return len(entries)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush(prune=False)


def list_requests(
    where: JournalFilter, *, limit: int, before: int | None, uow_factory: UowFactory
) -> list[JournalEntry]:
    """Journal entries matching ``where``, newest first, with ids below ``before``."""
    with uow_factory(readonly=True) as uow:
        return uow.journal.page(where, min(max(limit, 1), MAX_PAGE), before)


def get_request(entry_id: int, *, uow_factory: UowFactory) -> JournalEntry | None:
    """One journal entry, or None (never written, or pruned)."""
    with uow_factory(readonly=True) as uow:
        return uow.journal.get(entry_id)


def latest_ids(*, uow_factory: UowFactory) -> tuple[int, int, int]:
    """The newest journal entry, outbox event and delivery attempt ids (for live streams)."""
    with uow_factory(readonly=True) as uow:
        return uow.journal.heads()
