"""WAL checkpoints run by the server's checkpointer thread, not by requests (SQLite)."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa

from xborder.storage.checkpoint import AUTOCHECKPOINT_PAGES, WalCheckpointer
from xborder.storage.engine import make_engine


def _engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", autocheckpoint=AUTOCHECKPOINT_PAGES)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    return engine


def _write(engine: sa.Engine, rows: int) -> None:
    for _ in range(rows):
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t (v) VALUES (?)", ("x" * 2000,))


def test_connections_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == AUTOCHECKPOINT_PAGES
    _write(engine, 600)  # > 1,000 pages: SQLite's default would have checkpointed already
    busy, logged, done = WalCheckpointer(engine).checkpoint()
    assert (busy, done) == (0, logged) and logged > 1_000
    engine.dispose()


def test_the_thread_checkpoints_while_writers_write_and_loses_nothing(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    checkpointer = WalCheckpointer(engine, interval=0.05)
    checkpointer.start()
    try:
        _write(engine, 300)
        time.sleep(0.2)
    finally:
        checkpointer.stop()
    _busy, logged, done = checkpointer.checkpoint()
    assert done == logged  # nothing left behind in the log
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 300
    engine.dispose()
