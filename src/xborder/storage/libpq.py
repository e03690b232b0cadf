"""PostgreSQL's hot statements through psycopg's libpq layer (issue 12).

Through psycopg's cursor a keyed read costs a worker about 46 µs of CPU, twice what the same
round trip costs through ``PGconn.exec_prepared`` with psycopg's own :class:`Transformer` for
the values (docs/performance.md): the cursor's query conversion, prepared-statement
bookkeeping and result set-up are Python around every statement. :class:`LibpqCursor` keeps
what matters of them and drops the rest:

* each statement is compiled once with numbered placeholders (``$1``), prepared once per
  connection and per parameter types (as psycopg prepares a query it has seen often), then
  run by name;
* values are dumped and rows loaded by psycopg's adapters (the connection's own ones), so a
  row reads exactly as through the cursor;
* a failed statement raises the error psycopg would (``error_from_result``), which
  :class:`~xborder.storage.prepared.Cursor` turns into SQLAlchemy's, as it does the cursor's;
* the transaction is opened as psycopg opens it, with ``BEGIN`` before the first statement
  on an idle connection (a connection in autocommit, or given an isolation level or access
  mode, leaves its statements to psycopg's cursor), and psycopg commits or rolls it back,
  reading the connection's state from libpq as always.

psycopg must not prepare statements of its own on these connections: its ``rollback()``
then deallocates every statement of the connection, ours included, and the pool's reset
calls it on every check-in. :func:`xborder.storage.engine.make_engine` gives psycopg
``prepare_threshold=None``.

``exec_`` and ``exec_prepared`` release the GIL while they wait on the server (checked: a
thread spinning beside a ``pg_sleep`` runs at full speed), as the cursor's waits do.

The savepoint statements a transaction holds back until its next statement of work (a
writer's unit opens one; :mod:`xborder.storage.transaction`) go in the same round trip as
that statement, in libpq's pipeline mode, instead of one of their own. A blocking
``get_result`` in pipeline mode would hold the GIL, so the results are awaited on the socket
(``poll``), as psycopg awaits its own.
"""

from __future__ import annotations

import copy
import itertools
import select
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from psycopg import abc, errors, pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy.engine import Dialect

from xborder.storage.prepared import Cursor, Prepared

_DONE = frozenset({pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK})
_IDLE = pq.TransactionStatus.IDLE
_BAD = pq.ConnStatus.BAD

_numbered: weakref.WeakKeyDictionary[Dialect, Dialect] = weakref.WeakKeyDictionary()


class _Statements:
    """The statements prepared on one connection, by SQL and parameter types."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, tuple[int, ...]], bytes] = {}
        self._count = itertools.count()

    def new_name(self) -> bytes:
        """A name never used on the connection, even after :attr:`names` was cleared."""
        return f"_xborder_{next(self._count)}".encode()


_statements: weakref.WeakKeyDictionary[Any, _Statements] = weakref.WeakKeyDictionary()
"""Per psycopg connection."""


def numbered(dialect: Dialect) -> Dialect:
    """The engine's dialect compiling ``$1, $2 …`` placeholders (what ``PREPARE`` takes)
    instead of psycopg's ``%(name)s``: the same dialect otherwise, server version included."""
    found = _numbered.get(dialect)
    if found is None:
        found = copy.copy(dialect)
        found.paramstyle = "numeric_dollar"
        found.positional = True
        _numbered[dialect] = found
    return found


class LibpqCursor(Cursor):
    """A :class:`~xborder.storage.prepared.Cursor` that runs statements with
    ``PGconn.exec_prepared``."""

    def __init__(
        self,
        dbapi_connection: Any,
        dialect: Dialect,
        pending: list[str] | None = None,
        take_pending: Callable[[], list[str]] | None = None,
    ) -> None:
        super().__init__(dbapi_connection, dialect, pending, take_pending)
        self._pgconn: pq.abc.PGconn = dbapi_connection.pgconn
        self._transformer: abc.Transformer = Transformer(dbapi_connection)
        self._encoding: str = dbapi_connection.info.encoding
        self._numbered = numbered(dialect)
        statements = _statements.get(dbapi_connection)
        if statements is None:
            statements = _statements[dbapi_connection] = _Statements()
        self._statements = statements

    def _execute(self, prepared: Prepared, values: Mapping[str, Any]) -> Any:
        held = self._held()
        if not self._began():
            if held:
                self.send(held)
            return super()._execute(prepared, values)
        compiled = self._compiled(prepared, self._numbered)
        # numbered placeholders are positional: the values come as a sequence, in their order
        parameters = cast(Sequence[Any], compiled.parameters(values))
        try:
            return self._run(compiled.sql, parameters, held)
        except errors.Error as exc:
            raise self._wrapped(compiled.sql, parameters, exc) from exc

    def plain(self, sql: str) -> None:
        if not self._began():
            super().plain(sql)
            return
        self._check(self._pgconn.exec_(sql.encode(self._encoding)))

    def _began(self) -> bool:
        """Whether the transaction is open, after opening it as psycopg would at its next
        statement (``BEGIN``); False leaves the statement to psycopg's cursor: a connection
        in autocommit, or one given an isolation level or access mode to begin with."""
        if self._pgconn.transaction_status != _IDLE:
            return True
        connection = self._connection
        if connection.autocommit or (
            connection.isolation_level,
            connection.read_only,
            connection.deferrable,
        ) != (None, None, None):
            return False
        self._check(self._pgconn.exec_(b"BEGIN"))
        return True

    def _run(self, sql: str, values: Sequence[Any], held: list[str]) -> _Result:
        """Run the statement by name, preparing it first on this connection if needed; the
        ``held`` savepoint statements go ahead of it in the same round trip."""
        transformer = self._transformer
        dumped = transformer.dump_sequence(values, [PyFormat.AUTO] * len(values))
        types = transformer.types or ()
        statements = self._statements
        name = statements.names.get((sql, types))
        if name is None:
            if held:  # sent first: a savepoint must be open before the prepare can fail
                self.send(held)
                held = []
            name = statements.new_name()
            self._check(self._pgconn.prepare(name, sql.encode(self._encoding), types))
            statements.names[(sql, types)] = name
        if held:
            result = self._pipelined(held, name, dumped, transformer.formats)
        else:  # a None is a NULL: libpq takes it, as the stub of send_query_prepared says
            result = self._pgconn.exec_prepared(name, dumped, transformer.formats)  # type: ignore[arg-type]
        try:
            self._check(result)
        except errors.InvalidSqlStatementName:
            # gone from the server (a DEALLOCATE ALL): this statement fails, and the next
            # transaction on the connection prepares anew
            statements.names.clear()
            raise
        return _Result(result, transformer)

    def _pipelined(
        self, held: list[str], name: bytes, dumped: Sequence[Any], formats: Any
    ) -> pq.abc.PGresult:
        """The ``held`` statements, then the prepared statement ``name``, in one round trip
        (libpq's pipeline mode): a unit of a group opens its savepoint with its first
        statement instead of a round trip ahead of it, which cost a cancel on PostgreSQL
        about 20 µs of the worker's CPU and as much of the server's (docs/performance.md).
        Returns the statement's result, or the first failure's; waits on the socket, as
        psycopg does, so the GIL is free meanwhile (a blocking ``get_result`` would hold it).
        """
        pgconn = self._pgconn
        pgconn.enter_pipeline_mode()
        try:
            for statement in held:
                pgconn.send_query_params(statement.encode(self._encoding), None)
            pgconn.send_query_prepared(name, dumped, formats)
            pgconn.pipeline_sync()
            pgconn.flush()
            results = self._until_sync()
        finally:
            pgconn.exit_pipeline_mode()
        for result in results:
            if result.status not in _DONE:
                return result  # the first failure; those after it were not run
        return results[-1]

    def _until_sync(self) -> list[pq.abc.PGresult]:
        """Every result of the pipeline up to its sync, in order."""
        pgconn = self._pgconn
        results: list[pq.abc.PGresult] = []
        ended = False
        while True:
            while pgconn.is_busy():
                _wait_readable(pgconn.socket)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:  # the end of one statement's results
                if ended or pgconn.status == _BAD:  # nothing more will come: no sync
                    message = pgconn.error_message.decode(self._encoding, "replace").strip()
                    raise errors.OperationalError(f"the connection is lost: {message}")
                ended = True
                continue
            ended = False
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                return results
            results.append(result)

    def _check(self, result: pq.abc.PGresult) -> None:
        """Raise a failed result as psycopg would; the failed statement counts as a change
        (on PostgreSQL it aborts the transaction)."""
        if result.status in _DONE:
            return
        self.changes += 1
        if self._pgconn.status == _BAD:  # as psycopg's cursor raises a lost connection
            message = self._pgconn.error_message.decode(self._encoding, "replace").strip()
            raise errors.OperationalError(f"the connection is lost: {message}")
        raise errors.error_from_result(result, encoding=self._encoding)


def _wait_readable(fd: int) -> None:
    """Block until ``fd`` can be read, without the GIL (``poll``: ``select`` cannot take a
    descriptor above 1023, which a busy server process reaches)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.poll()


class _Result:
    """What :class:`~xborder.storage.prepared.Cursor` reads of a driver cursor."""

    __slots__ = ("_result", "_transformer")

    def __init__(self, result: pq.abc.PGresult, transformer: abc.Transformer) -> None:
        self._result = result
        self._transformer = transformer

    @property
    def rowcount(self) -> int:
        count = self._result.command_tuples
        return -1 if count is None else count

    def fetchone(self) -> tuple[Any, ...] | None:
        if not self._result.ntuples:
            return None
        self._transformer.set_pgresult(self._result)
        row: tuple[Any, ...] = self._transformer.load_row(0, tuple)
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        self._transformer.set_pgresult(self._result)
        rows: list[tuple[Any, ...]] = self._transformer.load_rows(0, self._result.ntuples, tuple)
        return rows
