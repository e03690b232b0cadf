"""The SQLite write lock orders the writers of every process, not only of one."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from xborder.storage.engine import WriteLock

HOLD = 0.4


def _hold(database: str, held: Any) -> None:
    lock = WriteLock(database)
    lock.acquire()
    held.set()
    time.sleep(HOLD)
    lock.release()


def test_a_writer_of_another_process_waits_for_the_lock(tmp_path: Path) -> None:
    database = str(tmp_path / "x.db")
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    child = context.Process(target=_hold, args=(database, held))
    child.start()
    assert held.wait(30)
    started = time.monotonic()
    lock = WriteLock(database)
    lock.acquire()
    waited = time.monotonic() - started
    lock.release()
    child.join(30)
    assert waited > HOLD / 2


def test_the_lock_is_reentrant_within_a_thread_and_released_by_the_outermost(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "x.db")
    lock = WriteLock(database)
    lock.acquire()
    lock.acquire()
    lock.release()
    assert not _try(database)
    lock.release()
    assert _try(database)


def test_an_unwritable_directory_leaves_ordering_to_sqlite(tmp_path: Path) -> None:
    lock = WriteLock(str(tmp_path / "missing" / "x.db"))
    lock.acquire()  # no lock file can be made: acquired anyway, in this process only
    lock.release()


def _try(database: str) -> bool:
    """Whether another open file description could take the lock file now."""
    fd = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True
