"""Integration fixtures: the same tests on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.databases import postgres_engine_for_session, skip_or_fail_without_postgres, truncate_all


@pytest.fixture(scope="session")
def postgres_session_engine(worker_id: str) -> Iterator[Engine]:
    skip_or_fail_without_postgres()
    yield from postgres_engine_for_session(worker_id)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Engine]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        yield engine
        return
    pg: Engine = request.getfixturevalue("postgres_session_engine")
    truncate_all(pg)
    yield pg
