"""The controllable clock (D17): the wall clock plus an offset kept in the database.

Every server process reads the same offset, so moving the clock forward (admin API or
``xborder clock advance``) moves it for all of them at once. The offset is read on each
``now()`` in a short read-only transaction (a plain ``BEGIN`` on SQLite: it never waits for
the writer's lock, so it is safe inside another unit of work).

The clock has its own small connection pool. ``now()`` is called inside units of work that
already hold a connection of the main pool; borrowing a second one from that pool would let
N threads, each holding one, wait for ever (until the pool timeout) for the N+1th. The
clock's connections are held for one SELECT and wait for nothing, so its pool always drains.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine, make_url

from xborder.clock import Clock, SystemClock
from xborder.errors import ConfigError
from xborder.storage.engine import READONLY, make_engine
from xborder.storage.lifecycle import read_offset


class DatabaseClock:
    """A :class:`xborder.clock.Clock` whose offset from ``base`` lives in the database."""

    def __init__(self, engine: Engine, base: Clock | None = None) -> None:
        if engine.dialect.name == "sqlite" and make_url(str(engine.url)).database in (
            None,
            "",
            ":memory:",
        ):
            # One shared connection: reading the offset would end the caller's transaction.
            raise ConfigError("the controllable clock needs a file or server database")
        self._engine = make_engine(engine.url.render_as_string(hide_password=False), pool_size=2)
        self._base = base or SystemClock()

    def now(self) -> datetime:
        with self._engine.connect() as connection:
            connection.execution_options(**{READONLY: True})
            offset = read_offset(connection)
        return self._base.now() + offset

    def close(self) -> None:
        """Close the clock's own connections (the app does it at shutdown)."""
        self._engine.dispose()
