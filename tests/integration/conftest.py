"""Integration fixtures: the same tests on SQLite and on PostgreSQL.

The root ``engine`` fixture already runs each test on both databases (the PostgreSQL variant
marked ``postgres``); ``db`` is the name these suites know it by.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from xborder.storage.transaction import Transaction


@pytest.fixture
def db(engine: Engine) -> Engine:
    """A migrated, empty database of each kind."""
    return engine


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each time a unit of work asks for its SQLAlchemy Connection."""
    made: list[str] = []
    original = Transaction.connection

    def counting(self: Transaction) -> Any:
        made.append("connection")
        return original(self)

    monkeypatch.setattr(Transaction, "connection", counting)
    return made
