"""Engines: SQLite with WAL and immediate write transactions, or PostgreSQL with a pool.

SQLite note: a transaction that reads and then writes can fail at once with "database is
locked" when another process committed in between (a snapshot cannot be upgraded). Write
units of work therefore start with ``BEGIN IMMEDIATE``, which takes the write lock up front
and lets ``busy_timeout`` queue the writers; read-only units use a plain ``BEGIN``.

``busy_timeout`` does not queue writers fairly, though: a waiting writer sleeps in growing
steps and retries, so when several writers want the lock at once most of them sleep while it
is free, and throughput collapses under load. Each file engine therefore also has a
:func:`write_lock` that writers take first (the writer's groups, and the units of work that
own their transaction): the threads of a process queue on it in Python, and the processes on
an ``flock`` of a file beside the database, which the kernel hands to the next waiter the
moment it is released. SQLite's own lock stays the guarantee; these only keep its busy
handler from sleeping while the lock is free (docs/performance.md has the figures).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

READONLY = "xborder_readonly"
"""Execution option marking a connection whose transaction only reads."""

BUSY_TIMEOUT_MS = 30_000


class WriteLock:
    """Orders the write transactions on one SQLite file: the threads of this process on an
    RLock, then the processes on an exclusive ``flock`` of ``<database>-writer.lock``.

    Reentrant within a thread (the file lock is taken by the outermost acquire only). If the
    lock file cannot be opened (a read-only directory), SQLite's busy handler alone orders
    the processes, as it would without this lock.
    """

    def __init__(self, database: str) -> None:
        self._threads = threading.RLock()
        self._path = f"{database}-writer.lock"
        self._fd: int | None = None  # opened at first use, closed with this object
        self._locked = False
        self._depth = 0

    def acquire(self) -> None:
        self._threads.acquire()
        if self._depth == 0:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)  # waits in the kernel, GIL released
                self._locked = True
            except OSError:
                pass  # no lock file: SQLite's busy handler orders the processes
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._locked:
            self._locked = False
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        self._threads.release()

    def _file(self) -> int:
        if self._fd is None:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd = fd
            weakref.finalize(self, os.close, fd)
        return self._fd


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, WriteLock] = weakref.WeakKeyDictionary()


def write_lock(engine: Engine) -> WriteLock | None:
    """The lock serialising this process's write transactions on an SQLite file engine, or
    None (PostgreSQL locks rows, not the database; in-memory SQLite has one connection)."""
    return _WRITE_LOCKS.get(engine)


def is_sqlite_file(engine: Engine) -> bool:
    """Whether the engine is on an SQLite file (not in memory, not PostgreSQL)."""
    return engine in _WRITE_LOCKS


def normalise_url(url: str) -> str:
    """Pick our drivers: ``postgresql://`` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str,
    *,
    pool_size: int = 8,
    synchronous: str = "NORMAL",
    autocheckpoint: int | None = None,
) -> Engine:
    """An engine for ``url`` set up for xborder's transactions.

    Args:
        url: a SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``).
        pool_size: connections kept per process. On PostgreSQL it is also the most this
            process ever opens (no overflow), so ``workers x pool_size`` per host is what a
            deployment must fit under the server's ``max_connections`` (docs/deploy.md);
            a request that finds every connection busy waits for one (30 s at most).
        synchronous: SQLite ``PRAGMA synchronous``; NORMAL with WAL survives a process
            kill, FULL also survives power loss.
        autocheckpoint: SQLite ``PRAGMA wal_autocheckpoint`` in pages, for an engine whose
            checkpoints a :class:`xborder.storage.checkpoint.WalCheckpointer` runs; None
            keeps SQLite's default (1,000).
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool_size, synchronous, autocheckpoint)
    kwargs: dict[str, Any] = {}
    if make_url(url).get_driver_name() == "psycopg":
        # the hot statements are prepared by xborder.storage.libpq; psycopg must not prepare
        # its own, for its rollback() then deallocates every statement of the connection
        kwargs["connect_args"] = {"prepare_threshold": None}
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=0, pool_recycle=1800, **kwargs)
    _ping_idle_connections(engine)
    return engine


ALIVE_BYPASS_SECONDS = 0.5
"""A pooled connection used this recently is handed out without a liveness check."""


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before handing it out, unless it was in use
    within the last ``ALIVE_BYPASS_SECONDS``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip and its CPU on every
    use of a pooled connection. A connection returned half a second ago is alive
    but for a server restart inside that half second (the statement then fails once and the
    pool discards the connection when its reset fails). Connection pools commonly skip the
    check so (HikariCP's ``aliveBypassWindowMs``, 500 ms by default). A failed ping makes
    the pool discard the connection and connect anew: SQLAlchemy's pessimistic recipe.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get(_USED)
        if used is not None and time.monotonic() - used < ALIVE_BYPASS_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # end the transaction the ping opened
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa.exc.DisconnectionError("connection failed its liveness check") from exc


_USED = "xborder_last_used"


def _sqlite_engine(
    url: str, pool_size: int, synchronous: str, autocheckpoint: int | None
) -> Engine:
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"unknown synchronous mode {synchronous!r}")
    in_memory = make_url(url).database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    }
    if in_memory:
        kwargs["poolclass"] = sa.StaticPool
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    engine = sa.create_engine(url, **kwargs)
    if not in_memory:
        _WRITE_LOCKS[engine] = WriteLock(str(make_url(url).database))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        if not in_memory:
            _use_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if dbapi_connection is not None and dbapi_connection.in_transaction:
            return  # a unit of work began it on the driver connection (begin_on_driver)
        readonly = conn.get_execution_options().get(READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _use_wal(dbapi_connection: Any) -> None:
    """Switch the file to WAL (once per file; later connections find it so).

    The switch needs an exclusive lock, and when several processes open a fresh file at once
    (hosts starting together) their switches can deadlock, which SQLite answers with an
    immediate "database is locked" rather than waiting ``busy_timeout``: retry until then.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def begin_on_driver(dbapi_connection: Any, dialect_name: str, *, readonly: bool) -> None:
    """Open a transaction on a driver connection, as the ``begin`` hook above would.

    SQLite gets ``BEGIN`` or ``BEGIN IMMEDIATE`` (see the module docstring); psycopg opens
    one by itself at the first statement.
    """
    if dialect_name == "sqlite":
        dbapi_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
