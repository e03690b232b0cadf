"""One writer per database per process, committing groups of units of work (group commit).

A *unit* is a function of a unit-of-work factory: it runs its use cases with that factory and
returns their result. Every write of a request is one unit. The writer collects the units
submitted while the event loop was busy and runs them as one *group*: one transaction (on
SQLite under the engine's :class:`~xborder.storage.engine.WriteLock`, then ``BEGIN
IMMEDIATE``), then one ``COMMIT``. Only after that commit is any caller answered. A unit that
raises is rolled back alone: the others of its group commit all the same. If the commit
itself fails, every unit of the group fails with it, and nothing of the group was written.

A group first runs without savepoints, since almost every unit either succeeds or is refused
before it changed anything (a refusal after the gate is an answer, not an exception; a
cancel refused has only read): two statements fewer per unit, which on PostgreSQL are two of
a cancel's four. The transaction counts what may have changed something instead
(:class:`~xborder.storage.transaction.Transaction`); a unit that raises with nothing counted
has nothing to undo. When one raises after it changed something, the transaction is rolled
back whole and the group runs again at once, each unit inside a savepoint of its own, as the
next :data:`GUARDED_GROUPS` groups then do from the start (a unit aborted by a deadlock or a
lock timeout is left out of that run, and runs in a later group: see :data:`TRANSIENT`).

Where the group runs:

* **SQLite**: inline, on the event loop. A group's statements take microseconds, far less
  than handing them to a thread and back would; nothing in a group awaits, so no lock is ever
  held across an ``await``. A group starts one turn of the loop after its first unit came:
  the requests whose bytes arrived meanwhile are read and admitted and join it (over HTTP
  with 32 connections, groups of about 20 units instead of 10; docs/performance.md).
  Several processes on one file queue on the WriteLock's ``flock`` (SQLite's own locking
  stays the guarantee).
* **PostgreSQL**: on the writer's one thread, whose connection waits on the network while the
  loop goes on serving; the next group is formed from what arrived meanwhile.

Callers on other threads use :meth:`Writer.run_threadsafe`: on PostgreSQL it joins the same
queue; on SQLite, while the event loop is serving, the unit joins the loop's next group, so a
background writer (the request journal) never holds the write lock the loop waits on, and
adds no commit of its own. With no loop serving, and for :meth:`Writer.run_sync`, a group of
one runs on the calling thread under the same WriteLock.

The design is datasette's ``execute_write_fn`` (one write thread fed by a queue, callers
await a future) with the batching of TigerBeetle's commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine

from xborder.services.payments import UowFactory
from xborder.storage.engine import write_lock
from xborder.storage.errors import SavepointsNeeded
from xborder.storage.transaction import Transaction
from xborder.storage.unit_of_work import NestedUowFactory

log = logging.getLogger("xborder.writer")

T = TypeVar("T")
Unit = Callable[[UowFactory], T]

MAX_GROUP = 512
"""The most units one group commits."""


@dataclass(slots=True)
class _Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None
    transient: bool = False  # aborted by a deadlock: worth running again in a later group


TRANSIENT = frozenset({"40P01", "40001", "55P03"})
"""PostgreSQL's deadlock, serialization failure and lock-not-available. A group holds the row
locks of all its units until its commit, so the groups of two processes can wait on each
other (unit a2 of one on what b1 of the other holds, b2 on what a1 holds); PostgreSQL then
aborts one statement. Run again in the same group, the unit would wait on the same locks, so
it is rolled back to its savepoint and run again in a group of its own once this one has
committed and let go of its locks."""

UNIT_ATTEMPTS = 4

GROUP_LOCK_TIMEOUT = "200ms"
"""PostgreSQL: how long a unit after the first of a group waits for a row lock before it is
rolled back to its savepoint and run again in a later group (``lock_timeout``, lock-not-
available: :data:`TRANSIENT`). Two processes' groups that each hold what the other's next unit
wants wait on each other, and PostgreSQL finds that cycle only after ``deadlock_timeout`` (a
second by default, which every unit of both groups waits out); the timeout breaks it sooner.
A group's first unit holds no lock of its group's yet and waits as long as it needs, and so
does every unit run again: a unit gives up on a lock this way at most once."""


GUARDED_GROUPS = 16
"""After a group ran again with savepoints, how many groups after it open them from the start:
a load whose units often fail after a change (a client that keeps sending what the database
refuses) pays for each group once, not twice."""


@dataclass(slots=True)
class GroupStats:
    """What this writer committed: groups, the units in them, and the seconds they took from
    the transaction's start to its commit (what every caller of the group waited); and the
    groups run again with savepoints. Read by the metrics (issue 14); updated by the one
    thread that runs the groups."""

    groups: int = 0
    units: int = 0
    seconds: float = 0.0
    rerun: int = 0
    guarded_left: int = 0  # groups still to open savepoints from the start

    def timed(self, engine: Engine, units: list[Unit[Any]]) -> list[_Outcome[Any]]:
        """:func:`run_group`, counted."""
        started = time.perf_counter()
        guarded = self.guarded_left > 0
        if guarded:
            self.guarded_left -= 1
        outcomes, rerun = _run_group(engine, units, savepoints=guarded)
        if rerun:
            self.rerun += 1
            self.guarded_left = GUARDED_GROUPS
        self.seconds += time.perf_counter() - started
        self.groups += 1
        self.units += len(units)
        return outcomes


def run_group(engine: Engine, units: list[Unit[Any]]) -> list[_Outcome[Any]]:
    """Run ``units`` in one transaction; commit once.

    Returns one outcome per unit, in order. When the transaction cannot be opened or
    committed, every outcome carries that error. A unit that fails is rolled back alone: the
    group runs without savepoints first, and again with one per unit if a unit failed after
    it changed something (see the module docstring). Units aborted by a deadlock run again in
    a later transaction (see :data:`TRANSIENT`).
    """
    return _run_group(engine, units, savepoints=False)[0]


def _run_group(
    engine: Engine, units: list[Unit[Any]], *, savepoints: bool
) -> tuple[list[_Outcome[Any]], bool]:
    """:func:`run_group`, with savepoints from the start or not; and whether it had to run
    the group again with them."""
    outcomes: list[_Outcome[Any] | None] = [None] * len(units)
    pending = list(range(len(units)))
    rerun = False
    for attempt in range(1, UNIT_ATTEMPTS + 1):
        # units run again after a deadlock met contention once: savepoints from the start
        results, again_guarded = _locked_group(
            engine, [units[i] for i in pending], impatient=attempt == 1,
            savepoints=savepoints or attempt > 1,
        )  # fmt: skip
        rerun = rerun or again_guarded
        again = []
        for index, outcome in zip(pending, results, strict=True):
            if outcome.transient and attempt < UNIT_ATTEMPTS:
                again.append(index)
            else:
                outcomes[index] = outcome
        if not again:
            break
        log.info("%d write unit(s) run again after a deadlock", len(again))
        pending = again
    return [outcome if outcome is not None else _Outcome() for outcome in outcomes], rerun


def _locked_group(
    engine: Engine, units: list[Unit[Any]], *, impatient: bool = False, savepoints: bool = True
) -> tuple[list[_Outcome[Any]], bool]:
    """The group's outcomes, and whether it ran again with savepoints after it had run
    without; both runs under one hold of the write lock."""
    lock = write_lock(engine)
    if lock is not None:
        lock.acquire()
    try:
        if savepoints:
            return _guarded(engine, units, impatient=impatient), False
        tried = _in_transaction(engine, units, impatient=impatient, savepoints=False)
        if isinstance(tried, list):
            return tried, False
        log.debug("a write group of %d runs again with savepoints", len(units))
        if tried.transient is None:
            return _guarded(engine, units, impatient=impatient), True
        # A deadlock or lock timeout: that unit runs again in a later group, as it would
        # have after its savepoint's rollback; the others run again now, without waiting
        # on its locks a second time.
        others = units[: tried.index] + units[tried.index + 1 :]
        outcomes = _guarded(engine, others, impatient=impatient) if others else []
        outcomes.insert(tried.index, tried.transient)
        return outcomes, True
    finally:
        if lock is not None:
            lock.release()


@dataclass(slots=True)
class _GaveUp:
    """Where a transaction without savepoints was abandoned (nothing of its group commits):
    the unit that failed after it changed something and, when a deadlock or a lock timeout
    aborted it, its outcome."""

    index: int = 0
    transient: _Outcome[Any] | None = None


def _guarded(engine: Engine, units: list[Unit[Any]], *, impatient: bool) -> list[_Outcome[Any]]:
    """The group in one transaction, each unit in a savepoint of its own."""
    outcomes = _in_transaction(engine, units, impatient=impatient)
    if not isinstance(outcomes, list):  # pragma: no cover - only a bare transaction gives up
        raise AssertionError("a group with savepoints gave up")
    return outcomes


def _in_transaction(
    engine: Engine, units: list[Unit[Any]], *, impatient: bool = False, savepoints: bool = True
) -> list[_Outcome[Any]] | _GaveUp:
    """The group in one transaction, or, without savepoints, where it gave up."""
    try:
        transaction = Transaction(engine, savepoints=savepoints)
    except Exception as exc:  # noqa: BLE001 - the units' callers get it
        return [_Outcome(error=exc) for _ in units]
    run = _run_unit if savepoints else _run_bare
    try:
        factory = NestedUowFactory(engine, transaction)
        timed_locks = impatient and engine.dialect.name == "postgresql"
        outcomes = []
        for position, unit in enumerate(units):
            if position == 1 and timed_locks:
                # sent with the second unit's first statement (xborder.storage.libpq)
                transaction.hold(f"SET LOCAL lock_timeout = '{GROUP_LOCK_TIMEOUT}'")
            outcome = run(transaction, factory, unit)
            if isinstance(outcome, _GaveUp):
                outcome.index = position
                return outcome  # rolled back whole by close(), below
            outcomes.append(outcome)
        transaction.commit()
    except Exception as exc:
        log.error("a write group of %d failed to commit", len(units), exc_info=exc)
        return [_Outcome(error=exc) for _ in units]
    finally:
        transaction.close()
    return outcomes


def _run_bare(
    transaction: Transaction, factory: UowFactory, unit: Unit[Any]
) -> _Outcome[Any] | _GaveUp:
    """A unit in a transaction without savepoints, or a give-up when it failed after it
    changed something, which only a savepoint could undo (a failed statement counts: on
    PostgreSQL it aborts the transaction)."""
    changes = transaction.cursor.changes
    try:
        value = unit(factory)
    except SavepointsNeeded:  # an inner unit of work failed after a change
        return _GaveUp()
    except Exception as exc:  # noqa: BLE001 - delivered to the unit's caller
        outcome: _Outcome[Any] = _Outcome(error=exc, transient=_sqlstate(exc) in TRANSIENT)
        if transaction.cursor.changes != changes:
            return _GaveUp(transient=outcome if outcome.transient else None)
        return outcome
    return _Outcome(value=value)


def _run_unit(transaction: Transaction, factory: UowFactory, unit: Unit[Any]) -> _Outcome[Any]:
    savepoint = transaction.savepoint()
    try:
        value = unit(factory)
    except Exception as exc:  # noqa: BLE001 - delivered to the unit's caller
        transaction.rollback_to(savepoint)
        return _Outcome(error=exc, transient=_sqlstate(exc) in TRANSIENT)
    transaction.release(savepoint)
    return _Outcome(value=value)


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (psycopg's ``sqlstate``), wrapped by SQLAlchemy or not."""
    driver_error = getattr(exc, "orig", None) or exc
    state = getattr(driver_error, "sqlstate", None)
    return state if isinstance(state, str) else None


class Writer:
    """The write path of one engine in one process (see the module docstring)."""

    def __init__(self, engine: Engine, *, inline: bool | None = None) -> None:
        self.engine = engine
        self.inline = engine.dialect.name == "sqlite" if inline is None else inline
        self._pending: list[tuple[Unit[Any], asyncio.Future[Any]]] = []
        self._flush_scheduled = False
        self._gathered = False  # the group waited its one turn of the loop for more units
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop that runs inline groups
        self.stats = GroupStats()
        self._thread = None if self.inline else _WriterThread(engine, self.stats)

    async def run(self, unit: Unit[T]) -> T:
        """Run ``unit`` in the next group; answer once that group has committed."""
        if self._thread is not None:
            waiting: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            self._thread.submit_from_loop(unit, waiting)
            return await waiting
        loop = self._loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((unit, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)  # after the handlers already scheduled have queued theirs
        return await future

    def run_sync(self, unit: Unit[T]) -> T:
        """Run ``unit`` from a thread that is not the event loop's; wait for its commit."""
        if self._thread is not None:
            return self._thread.submit(unit).result()
        outcome = run_group(self.engine, [unit])[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome.value  # type: ignore[return-value]

    def run_threadsafe(self, unit: Unit[T], timeout: float = 60.0) -> T:
        """Run ``unit`` from any thread but the event loop's; wait for its group's commit.

        On SQLite, while the loop that runs the groups is serving, ``unit`` joins its next
        group; otherwise (PostgreSQL, or no loop) this is :meth:`run_sync`. ``timeout``
        bounds the wait for a loop that stops before it ran the unit.
        """
        loop = self._loop
        if self._thread is None and loop is not None and loop.is_running():
            if _running_loop() is loop:
                raise RuntimeError("run_threadsafe called on the event loop: await run()")
            return asyncio.run_coroutine_threadsafe(self.run(unit), loop).result(timeout)
        return self.run_sync(unit)

    def _flush(self) -> None:
        if not self._gathered:
            # One more turn of the loop first: it reads the requests that arrived while this
            # turn ran, and their units join the group (its cost is shared by more of them)
            self._gathered = True
            asyncio.get_running_loop().call_soon(self._flush)
            return
        self._gathered = False
        self._flush_scheduled = False
        while self._pending:
            batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            outcomes = self.stats.timed(self.engine, [unit for unit, _ in batch])
            _settle_all(
                [(future, outcome) for (_, future), outcome in zip(batch, outcomes, strict=True)]
            )

    def close(self) -> None:
        """Stop the writer thread, after the groups already queued (PostgreSQL)."""
        if self._thread is not None:
            self._thread.stop()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_Waiter = Future[Any] | asyncio.Future[Any]
"""Who waits for a unit: a thread (a ``concurrent.futures.Future``) or a coroutine on an event
loop (an ``asyncio.Future`` of that loop)."""


_Answers = list[tuple[asyncio.Future[Any], _Outcome[Any]]]
"""A group's outcomes for the callers on one event loop."""


class _WriterThread:
    """The one thread that runs a PostgreSQL engine's write groups, fed by a queue.

    A group's callers on an event loop are answered together, with one call into the loop:
    a future per caller wrapped for the loop (``asyncio.wrap_future``) would wake the loop once
    per unit, about 14 µs of CPU each, where one wake-up for the whole group costs about 4.
    """

    def __init__(self, engine: Engine, stats: GroupStats) -> None:
        self._engine = engine
        self._stats = stats
        self._queue: queue.SimpleQueue[tuple[Unit[Any], _Waiter] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, unit: Unit[T]) -> Future[T]:
        """Queue ``unit`` for a caller on any thread, which waits on the future returned."""
        future: Future[T] = Future()
        self._ensure_started()
        self._queue.put((unit, future))
        return future

    def submit_from_loop(self, unit: Unit[T], waiting: asyncio.Future[T]) -> None:
        """Queue ``unit`` for a coroutine awaiting ``waiting``, a future of its running loop."""
        self._ensure_started()
        self._queue.put((unit, waiting))

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._serve, name="xborder-writer", daemon=True
                    )
                    self._thread.start()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[tuple[Unit[Any], _Waiter]]) -> None:
        live = [(unit, waiter) for unit, waiter in batch if _wanted(waiter)]
        outcomes = self._stats.timed(self._engine, [unit for unit, _ in live])
        by_loop: dict[asyncio.AbstractEventLoop, _Answers] = {}
        for (_, waiter), outcome in zip(live, outcomes, strict=True):
            if isinstance(waiter, Future):
                _settle(waiter, outcome)
            else:
                by_loop.setdefault(waiter.get_loop(), []).append((waiter, outcome))
        for loop, answers in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, answers)
            except RuntimeError:  # the loop was closed: nobody is waiting any more
                log.debug("%d write outcome(s) for a closed event loop", len(answers))


def _wanted(waiter: _Waiter) -> bool:
    """Whether the unit should still run: its caller has not given up on it. (A coroutine's
    future is only read here, from the writer's thread; it is settled on its loop.)"""
    if isinstance(waiter, Future):
        return waiter.set_running_or_notify_cancel()
    return not waiter.cancelled()


def _settle(future: Future[Any] | asyncio.Future[Any], outcome: _Outcome[Any]) -> None:
    if outcome.error is not None:
        future.set_exception(outcome.error)
    else:
        future.set_result(outcome.value)


def _settle_all(answers: _Answers) -> None:
    """On the loop: answer every caller of a group that still waits (a cancelled one is
    done already)."""
    for future, outcome in answers:
        if not future.done():  # a caller cancelled meanwhile
            _settle(future, outcome)
