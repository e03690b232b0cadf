"""Integration fixtures: the same tests on SQLite and on PostgreSQL.

The root ``engine`` fixture already runs each test on both databases (the PostgreSQL variant
marked ``postgres``); ``db`` is the name these suites know it by.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine


@pytest.fixture
def db(engine: Engine) -> Engine:
    """A migrated, empty database of each kind."""
    return engine
