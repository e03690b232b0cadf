"""Which connection the current thread's unit of work holds, per engine.

Code that runs inside a unit of work and needs one more read (the controllable clock's
offset, D17) must use the unit's own connection rather than borrow a second one from the
pool: when every connection of a process's pool is held by a unit of work that waits for a
second one, none is ever returned and the process stalls until the pool times out (on
SQLite, writers queued behind such a unit then fail with "database is locked").
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

_local = threading.local()


def _stack() -> list[Connection]:
    stack: list[Connection] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def enter(connection: Connection) -> None:
    """Record that this thread's innermost unit of work runs on ``connection``."""
    _stack().append(connection)


def leave(connection: Connection) -> None:
    """Forget ``connection`` (its unit of work has ended)."""
    stack = _stack()
    if connection in stack:
        stack.remove(connection)


def active(engine: Engine) -> Connection | None:
    """The connection of this thread's innermost open unit of work on ``engine``, or None."""
    for connection in reversed(_stack()):
        if connection.engine is engine and not connection.closed:
            return connection
    return None
