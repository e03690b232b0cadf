"""SQLite WAL checkpoints off the request path.

In WAL mode a commit appends pages to the write-ahead log; a *checkpoint* copies them back
into the database file and, with ``synchronous=NORMAL``, is the only moment SQLite calls
``fsync``. By default the commit that takes the log past 1,000 pages runs the checkpoint
itself, so one request in a hundred or so pays for copying the others' pages and for the
fsync: a latency spike, and CPU on the request thread.

A server process therefore runs a :class:`WalCheckpointer` thread that checkpoints every
``interval`` seconds (``PRAGMA wal_checkpoint(PASSIVE)``: it never waits for or blocks
readers and writers), and its engine raises the automatic threshold (``AUTOCHECKPOINT_PAGES``)
so that requests checkpoint only if that thread falls far behind. The interval is short: a
checkpoint's copy and fsync, though they hold no lock, slow the requests' own writes to the
log while they last, so many small ones keep the slowest requests fast where a few large ones
did not (issue 12's p99; docs/performance.md). A checkpoint of an empty log is a no-op.
Durability is unchanged: a commit is as durable as before the moment it returns; only the
copy to the main file moves.
Several processes may each run one; SQLite lets one checkpoint run at a time and the others
return at once.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

log = logging.getLogger("xborder.storage")

AUTOCHECKPOINT_PAGES = 20_000
"""The automatic checkpoint threshold of a server's connections (80 MB of 4 KiB pages)."""


INTERVAL = 0.02
"""Seconds between two checkpoints of a server process."""


class WalCheckpointer:
    """A daemon thread running passive WAL checkpoints on an SQLite file engine."""

    def __init__(self, engine: Engine, *, interval: float = INTERVAL) -> None:
        self._engine = engine
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xborder-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        try:
            self.checkpoint()  # leave a short log behind
        except Exception:  # shutting down: the log stays for the next start
            log.warning("final WAL checkpoint failed", exc_info=True)

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint: (busy, pages in the log, pages checkpointed)."""
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            row = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cursor.close()
            return int(row[0]), int(row[1]), int(row[2])
        finally:
            connection.close()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.checkpoint()
            except Exception:
                log.warning("WAL checkpoint failed; retrying", exc_info=True)
