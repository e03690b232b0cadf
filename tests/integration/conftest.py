"""Integration fixtures: the same tests on SQLite and on PostgreSQL.

The root ``engine`` fixture already runs each test on both databases (the PostgreSQL variant
marked ``postgres``); ``db`` is the name these suites know it by.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from xborder.storage.unit_of_work import SqlAlchemyUnitOfWork


@pytest.fixture
def db(engine: Engine) -> Engine:
    """A migrated, empty database of each kind."""
    return engine


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each time a unit of work asks for its SQLAlchemy Connection."""
    made: list[str] = []
    original = SqlAlchemyUnitOfWork.connection

    def counting(self: SqlAlchemyUnitOfWork) -> Any:
        made.append("connection")
        return original(self)

    monkeypatch.setattr(SqlAlchemyUnitOfWork, "connection", counting)
    return made
