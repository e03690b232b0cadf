"""Several processes migrating one fresh database at once (hosts of a deployment starting
together, each ``xborder serve`` migrating first): every one of them succeeds, and the schema
is applied once (issue 6). Without the advisory lock of ``xborder.storage.migrate``, all but
one PostgreSQL process failed on a duplicate ``CREATE TABLE``."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail_without_postgres,
)

PROCESSES = 3

pytestmark = pytest.mark.slow


def migrate(url: str, barrier: Any, results: Any) -> None:
    """In a child process: wait until every process is ready, then migrate."""
    from xborder.storage.engine import make_engine
    from xborder.storage.migrate import upgrade

    engine = make_engine(url, pool_size=1)
    barrier.wait()
    try:
        upgrade(engine)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        sql = [line for line in str(exc).splitlines() if line.startswith("[SQL")]
        results.put(f"{type(exc).__name__}: {str(exc).splitlines()[0]} {sql}")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    skip_or_fail_without_postgres()
    name = f"xborder_migrations_{os.getpid()}"
    yield create_postgres_database(name)
    drop_postgres_database(name)


def test_processes_migrating_at_once_all_succeed(fresh_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES, timeout=60), context.Queue()
    processes = [
        context.Process(target=migrate, args=(fresh_url, barrier, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
    assert outcomes == ["ok"] * PROCESSES
    engine = sa.create_engine(fresh_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert len(versions.all()) == 1
    finally:
        engine.dispose()
