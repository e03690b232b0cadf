"""The request journal (issue 14): every XBS request and its answer, kept off the request path.

The endpoint hands a small record of each answered request to :meth:`RequestRecorder.offer`,
which only appends it to a bounded in-memory ring (a full ring drops its oldest record and
counts the drop). The recorder's thread drains the ring a few times a second: it turns each
record into a :class:`JournalEntry` (redaction and decoding happen here, not on the request
path), tells its listeners (the metrics), and inserts the batch in one short transaction of
its own, then prunes the table by count and age. A failed insert is logged and its batch
dropped: the journal is a diagnostic aid and must never slow or fail a request.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from xborder.services.journal_ports import JournalEntry, JournalFilter
from xborder.services.payments import UowFactory

log = logging.getLogger("xborder.journal")

T = TypeVar("T")

RING_SIZE = 10_000
"""Records waiting for the writer; beyond it the oldest are dropped (and counted)."""

BATCH = 200
"""Records inserted per transaction: on SQLite the request writer waits for it, so short."""

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Retention:
    """How much of the journal is kept (``XBORDER_JOURNAL_MAX_ROWS``, ``..._MAX_AGE``)."""

    enabled: bool = True
    max_rows: int = 5000
    max_age: timedelta = timedelta(hours=24)


class RequestRecorder(Generic[T]):
    """The ring and the background writer; ``build`` turns a raw record into an entry."""

    def __init__(
        self,
        build: Callable[[T], JournalEntry],
        *,
        uow_factory: UowFactory,
        retention: Retention,
        listeners: Sequence[Callable[[JournalEntry], None]] = (),
        interval: float = 0.25,
        ring_size: int = RING_SIZE,
    ) -> None:
        self._ring: collections.deque[T] = collections.deque(maxlen=ring_size)
        self._build = build
        self._uow_factory = uow_factory
        self.retention = retention
        self._listeners = tuple(listeners)
        self._interval = interval
        self.dropped = 0
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
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.flush()  # what arrived before shutdown is still written

    def flush(self) -> int:
        """Write everything waiting now; the number of entries built."""
        written = 0
        with self._lock:
            while self._ring:
                batch = [self._ring.popleft() for _ in range(min(BATCH, len(self._ring)))]
                written += self._write([self._safe_build(record) for record in batch])
        return written

    def _safe_build(self, record: T) -> JournalEntry | None:
        try:
            entry = self._build(record)
        except Exception:  # a record that cannot be built is skipped, the others go on
            log.exception("journal record could not be built")
            return None
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception:
                log.exception("journal listener failed")
        return entry

    def _write(self, built: list[JournalEntry | None]) -> int:
        entries = [entry for entry in built if entry is not None]
        if not entries or not self.retention.enabled:
            return len(entries)
        oldest = datetime.now(UTC) - self.retention.max_age
        try:
            with self._uow_factory() as uow:
                uow.journal.add(entries)
                uow.journal.prune(self.retention.max_rows, oldest)
                uow.commit()
        except Exception:  # never let the journal take the server down
            log.exception("journal batch of %d entries dropped", len(entries))
        return len(entries)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


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
