"""The one owner of a database transaction, and its savepoints.

A :class:`Transaction` holds one pooled driver connection for its lifetime. It opens the
transaction on the driver (``BEGIN IMMEDIATE`` for an SQLite writer, ``BEGIN`` for a reader;
psycopg opens one by itself at the first statement), hands the hot repositories a
:class:`~xborder.storage.prepared.Cursor` on that driver connection, and makes SQLAlchemy's
``Connection`` over the same driver connection only when a cold repository asks for it (its
autobegin joins the open transaction: see :mod:`xborder.storage.engine`). Commit and rollback
go to whichever of the two holds the transaction, once.

Savepoints are issued on the driver: the writer (:mod:`xborder.storage.writer`) runs each unit
of work of a group inside one, so a unit that fails rolls back alone while the others of its
group commit together.

A transaction opened with ``savepoints=False`` sends none: it counts instead what its cursor
ran that may have changed something (every statement but a read, and every statement that
failed). A savepoint within which nothing was counted has nothing to undo; rolling back one
within which something was raises :class:`SavepointsNeeded`, and the writer runs its group
again in a transaction with savepoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect, Engine

from xborder.storage.engine import READONLY, begin_on_driver
from xborder.storage.errors import SavepointsNeeded
from xborder.storage.prepared import Cursor

if TYPE_CHECKING:
    from xborder.storage.unit_of_work import Repositories

T = TypeVar("T")


class Transaction:
    """One transaction on one pooled connection; ``close()`` returns the connection.

    Args:
        savepoints: False for a transaction that only counts its changes instead of opening
            savepoints (see the module docstring).
    """

    def __init__(
        self, engine: Engine, *, readonly: bool = False, held: Any = None, savepoints: bool = True
    ) -> None:
        self._engine = engine
        self._readonly = readonly
        self.savepoints = savepoints
        self._marks: list[int] = []  # without savepoints: the count of changes at each open one
        # the pool's proxy of the DBAPI connection; a ``held`` one stays checked out after
        # close() (the reader keeps one for the event loop's reads)
        self._held = held is not None
        self._driver: Any = held if held is not None else engine.raw_connection()
        self._connection: Connection | None = None  # SQLAlchemy's, over it, when needed
        # per savepoint open now, innermost last: the savepoint that marks its point (each is
        # named after its depth, the length of this list when it opened)
        self._points: list[str] = []
        self._pending: list[str] = []  # savepoint statements not sent yet
        self._untouched = False  # nothing done since the innermost savepoint was opened
        try:
            begin_on_driver(self._driver.dbapi_connection, engine.dialect.name, readonly=readonly)
        except BaseException:
            if not self._held:
                self._driver.close()
            raise
        self._open = True
        driver: Any = self._driver.dbapi_connection
        self.cursor = _cursor_type(engine.dialect)(
            driver, engine.dialect, self._pending, self._take_pending
        )
        self.readonly = readonly
        # every repository over this transaction, built by its first unit of work
        self.repositories: Repositories | None = None

    def connection(self) -> Connection:
        """SQLAlchemy's Connection over this transaction's driver connection, made on first
        use; its autobegin joins the transaction already open."""
        self.cursor.changes += 1  # whatever a cold repository runs may change something
        if self._connection is None:
            if self._driver is None:
                raise RuntimeError("the transaction is closed")
            self._connection = Connection(self._engine, connection=self._driver)
            if self._readonly:
                self._connection.execution_options(**{READONLY: True})
        self._send_pending()  # a cold repository asks for it for each statement it runs
        return self._connection

    def savepoint(self) -> str:
        """Open a savepoint; returns its name for :meth:`release` or :meth:`rollback_to`.

        Savepoints nest (a unit of work inside a writer's unit): each is ended, innermost
        first, before the one that holds it. So one is named after its depth, and a group of
        a thousand units uses the same few statements, which the driver keeps prepared,
        rather than a new one to parse per savepoint.

        The statement is not sent now but just before the next statement of work (see
        :meth:`_send_pending`): a savepoint opened where the one holding it was opened, with
        nothing done in between, marks the same point and is not opened at all; one ended
        with nothing done inside it costs nothing.
        """
        if not self.savepoints:
            self._marks.append(self.cursor.changes)
            return f"xb{len(self._marks)}"
        name = f"xb{len(self._points) + 1}"
        if self._untouched and self._points:  # the same point as the one that holds it
            self._points.append(self._points[-1])
            return name
        self._points.append(name)
        self._pending.append(f"SAVEPOINT {name}")
        self._untouched = True
        return name

    def release(self, name: str) -> None:
        """Keep what was done since the savepoint (it becomes part of the transaction)."""
        if not self.savepoints:
            self._end_mark(name)
            return
        point = self._end(name)
        if point != name:  # it shared the point of the one that holds it: nothing to end
            return
        self._untouched = False
        if self._pending and self._pending[-1] == f"SAVEPOINT {name}":
            self._pending.pop()  # nothing was done inside it: it need never be opened
        else:
            self._pending.append(f"RELEASE SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        """Undo what was done since the savepoint, and forget it.

        Raises:
            SavepointsNeeded: without savepoints, when something may have changed since.
        """
        if not self.savepoints:
            if self.cursor.changes != self._end_mark(name):
                raise SavepointsNeeded(name)
            return  # nothing was changed since: nothing to undo
        point = self._end(name)
        self._untouched = False
        if self._pending and self._pending[-1] == f"SAVEPOINT {point}":
            if point == name:
                self._pending.pop()  # nothing was done since: nothing to undo
            return
        self._send_pending()
        self.cursor.plain(f"ROLLBACK TO SAVEPOINT {point}")
        if point == name:  # a shared point stays open for the savepoint that holds it
            self.cursor.plain(f"RELEASE SAVEPOINT {name}")

    def _end(self, name: str) -> str:
        """Close the innermost savepoint, ``name``; the savepoint that marks its point."""
        return _innermost(self._points, name)

    def _end_mark(self, name: str) -> int:
        """Without savepoints: close the innermost, ``name``; the count of changes when it
        opened."""
        return _innermost(self._marks, name)

    def hold(self, statement: str) -> None:
        """Send ``statement`` (no parameters, no rows) with the next statement of work, as
        the savepoints are; outside any savepoint only (a setting made inside one would end
        with it)."""
        if self._points or self._marks:
            raise RuntimeError("hold() inside a savepoint")
        self._pending.append(statement)

    def _take_pending(self) -> list[str]:
        """The savepoint statements held back, for the cursor to send before (or with) its
        statement of work; from now on they count as sent."""
        self._untouched = False
        pending = self._pending[:]
        self._pending.clear()
        return pending

    def _send_pending(self) -> None:
        """Send the savepoint statements held back, before a statement of work."""
        pending = self._take_pending()
        if pending:
            self.cursor.send(pending)

    def commit(self) -> None:
        self._finish(commit=True)

    def rollback(self) -> None:
        self._finish(commit=False)

    def _finish(self, *, commit: bool) -> None:
        if not self._open or self._driver is None:
            return
        self._open = False
        self._pending.clear()  # the end of the transaction ends every savepoint in it
        connection = self._connection
        if connection is not None and connection.in_transaction():  # SQLAlchemy joined
            if commit:
                connection.commit()
            else:
                connection.rollback()
        elif commit:
            self._driver.commit()
        else:
            self._driver.rollback()

    def close(self) -> None:
        """Roll back whatever was not committed and return the connection to the pool."""
        try:
            self.cursor.close()
            self.rollback()
        finally:
            owner = self._connection if self._connection is not None else self._driver
            if self._held:  # the holder keeps it (dropping SQLAlchemy's Connection over it
                owner = None  # releases nothing: closing it would check the driver in)
            self._connection = self._driver = None
            if owner is not None:
                owner.close()  # back to the pool, once


def _innermost(stack: list[T], name: str) -> T:
    """Pop what ``stack`` holds for the innermost savepoint, which must be ``name`` (savepoints
    are named after their depth and end innermost first)."""
    depth = len(stack)
    if name != f"xb{depth}":
        raise RuntimeError(f"savepoint {name} ended out of order (depth {depth})")
    return stack.pop()


def _cursor_type(dialect: Dialect) -> type[Cursor]:
    """psycopg's libpq layer on PostgreSQL (:mod:`xborder.storage.libpq`); the driver's cursor
    elsewhere. Imported here, so that SQLite deployments never import psycopg."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        from xborder.storage.libpq import LibpqCursor

        return LibpqCursor
    return Cursor
