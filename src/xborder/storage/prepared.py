"""Hot statements: SQLAlchemy Core compiles them once per dialect; the DBAPI cursor runs them.

Every request runs a handful of tiny statements (a registry check, a nonce insert, a payment
read, a conditional update, an outbox insert). Through ``Connection.execute`` each costs
several times more Python (execution context, events, result wrapping) than SQLite spends on
it, so the statements on that path are compiled here once, with their column
types' bind and result processors, and run on the connection's DBAPI cursor. The SQL, the
parameter handling and the conversions are SQLAlchemy's own; only the per-call machinery is
skipped (the approach of SQLAlchemy's performance FAQ for hot paths).

Driver errors are re-raised as SQLAlchemy's (``IntegrityError``, ``OperationalError`` ...),
exactly as ``Connection.execute`` raises them, so callers handle one family.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Compiled:
    """One statement compiled for one dialect."""

    sql: str
    binds: tuple[tuple[str, Processor], ...]  # parameters whose type converts the value
    columns: tuple[str, ...]  # result column names, in order
    results: tuple[tuple[int, Processor], ...]  # result columns whose type converts them
    positional: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None  # None: named style
    reads: bool  # a SELECT: changes nothing (a transaction without savepoints counts the rest)

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if self.binds:
            values = dict(values)
            for name, process in self.binds:
                values[name] = process(values[name])
        if self.positional is None:
            return values
        return self.positional(values)

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        if self.results:
            raw = list(raw)
            for index, process in self.results:
                raw[index] = process(raw[index])
        return dict(zip(self.columns, raw, strict=True))


class Prepared:
    """A Core statement, compiled lazily for each dialect it meets.

    Args:
        statement: an INSERT, UPDATE, DELETE or SELECT without expanding (IN) parameters;
            or one such statement per dialect name, for constructs that differ (see
            :func:`insert_or_ignore`).
        column_keys: for INSERT and UPDATE, the columns given values (as ``execute`` would
            infer from its parameters); the others are left out of the statement.
    """

    def __init__(
        self,
        statement: Executable | Mapping[str, Executable],
        *,
        column_keys: Sequence[str] | None = None,
    ):
        # by dialect name; "" stands for every dialect
        self._statements = dict(statement) if isinstance(statement, Mapping) else {"": statement}
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[tuple[str, str], Compiled] = {}
        self._lock = threading.Lock()

    def compiled(self, dialect: Dialect) -> Compiled:
        key = (dialect.name, dialect.paramstyle)
        found = self._compiled.get(key)
        if found is None:
            with self._lock:
                found = self._compiled.setdefault(key, self._compile(dialect))
        return found

    def _compile(self, dialect: Dialect) -> Compiled:
        statement = self._statement_for(dialect)
        kwargs: dict[str, Any] = {}
        if self._column_keys is not None:
            kwargs["column_keys"] = self._column_keys
        compiled = statement.compile(dialect=dialect, **kwargs)  # type: ignore[attr-defined]
        binds = []
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((name, process))
        columns: list[str] = []
        results: list[tuple[int, Processor]] = []
        # a SELECT's columns, or the RETURNING columns of an INSERT/UPDATE/DELETE
        exported = getattr(statement, "exported_columns", ())
        for index, column in enumerate(exported):
            if not column.key:
                raise ValueError(f"label every selected expression: {column!r} has no name")
            columns.append(column.key)
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
        order = tuple(compiled.positiontup) if compiled.positional else None
        # a SELECT (a WITH could hold an UPDATE: not counted as a read)
        reads = isinstance(statement, sa.Select) and compiled.string.startswith("SELECT")
        return Compiled(compiled.string, tuple(binds), tuple(columns), tuple(results),
                        _positional(order), reads)  # fmt: skip

    def _statement_for(self, dialect: Dialect) -> Executable:
        statement = self._statements.get(dialect.name)
        if statement is None:
            statement = self._statements.get("")
        if statement is None:
            raise ValueError(f"no statement for the {dialect.name} dialect")
        return statement


def insert_or_ignore(
    table: sa.Table, *, column_keys: Sequence[str], returning: Sequence[sa.Column[Any]] = ()
) -> Prepared:
    """``INSERT ... ON CONFLICT DO NOTHING [RETURNING ...]`` in PostgreSQL's and SQLite's own
    constructs: a row that exists already is an ordinary "nothing inserted", never an error
    that aborts the transaction."""
    statements: dict[str, Executable] = {}
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        statement = insert(table).on_conflict_do_nothing()
        statements[name] = statement.returning(*returning) if returning else statement
    return Prepared(statements, column_keys=column_keys)


def _positional(
    order: tuple[str, ...] | None,
) -> Callable[[Mapping[str, Any]], tuple[Any, ...]] | None:
    """A function picking the values of ``order`` out of a mapping, as a tuple, in C."""
    if order is None:
        return None
    if not order:
        return lambda _values: ()
    pick = operator.itemgetter(*order)
    if len(order) == 1:
        return lambda values: (pick(values),)
    return pick


class Cursor:
    """Runs prepared statements on one DBAPI connection, in its current transaction.

    One driver cursor serves every statement (making one per statement costs psycopg about
    10 µs): each method reads all it needs of a statement's result before the next runs.
    """

    def __init__(
        self,
        dbapi_connection: Any,
        dialect: Dialect,
        pending: list[str] | None = None,
        take_pending: Callable[[], list[str]] | None = None,
    ) -> None:
        self._connection = dbapi_connection
        self._cursor: Any = None  # the driver's, made at the first statement
        self._plain: Any = None  # the driver's, for the transaction's savepoint statements
        self._dialect = dialect
        # statements the transaction holds back until a statement of work (its savepoints)
        self._pending: list[str] = pending if pending is not None else []
        self._take_pending = take_pending
        self._errors: type[Exception] = dialect.loaded_dbapi.Error
        self.memo: dict[str, Any] = {}  # reads that hold for the rest of the transaction
        # statements run that may have changed something: every one but a read, and every
        # one that failed (a transaction without savepoints reads it: xborder.storage.transaction)
        self.changes = 0

    @property
    def dialect_name(self) -> str:
        return str(self._dialect.name)

    def _held(self) -> list[str]:
        """The savepoint statements the transaction held back, taken to be sent now, before
        a statement of work."""
        if self._pending and self._take_pending is not None:
            return self._take_pending()
        return []

    def _send_held(self) -> None:
        held = self._held()
        if held:
            self.send(held)

    def send(self, statements: list[str]) -> None:
        """Send statements without parameters or rows (savepoints), in order: on PostgreSQL
        in one round trip (several statements in one call), on SQLite one call each (it runs
        in process)."""
        if self._dialect.name == "postgresql":
            self.plain("; ".join(statements))
        else:
            for statement in statements:
                self.plain(statement)

    def _execute(self, prepared: Prepared, values: Mapping[str, Any]) -> Any:
        """Run the statement; returns the driver's cursor (``rowcount``, ``fetchone``), whose
        result holds until the next statement."""
        self._send_held()
        compiled = self._compiled(prepared, self._dialect)
        parameters = compiled.parameters(values)
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self._connection.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
        except self._errors as exc:
            raise self._wrapped(compiled.sql, parameters, exc) from exc
        return cursor

    def _compiled(self, prepared: Prepared, dialect: Dialect) -> Compiled:
        """``prepared`` for ``dialect``, about to run: counted unless it only reads."""
        compiled = prepared.compiled(dialect)
        if not compiled.reads:
            self.changes += 1
        return compiled

    def _wrapped(self, sql: str, parameters: Any, exc: Exception) -> sa.exc.StatementError:
        """The driver's error as SQLAlchemy's (``IntegrityError`` ...), as ``execute`` raises
        it; the failed statement counts as a change."""
        self.changes += 1
        return sa.exc.DBAPIError.instance(sql, parameters, exc, self._errors, dialect=self._dialect)

    def plain(self, sql: str) -> None:
        """Run a statement without parameters or rows: the transaction's savepoints (on
        PostgreSQL several at once, separated by semicolons). Errors are the driver's."""
        if self._plain is None:
            self._plain = self._connection.cursor()
        try:
            self._plain.execute(sql)
        except self._errors:
            self.changes += 1
            raise

    def execute_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        self._send_held()
        compiled = self._compiled(prepared, self._dialect)
        parameters = [compiled.parameters(values) for values in rows]
        cursor = self._connection.cursor()
        try:
            cursor.executemany(compiled.sql, parameters)
        except self._errors as exc:
            raise self._wrapped(compiled.sql, parameters, exc) from exc
        finally:
            cursor.close()

    def first(self, prepared: Prepared, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row the statement returns, by column name, or None."""
        raw = self._execute(prepared, values).fetchone()
        return None if raw is None else prepared.compiled(self._dialect).row(raw)

    def all(self, prepared: Prepared, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row the statement returns, by column name."""
        raw_rows = self._execute(prepared, values).fetchall()
        compiled = prepared.compiled(self._dialect)
        return [compiled.row(raw) for raw in raw_rows]

    def rowcount(self, prepared: Prepared, values: Mapping[str, Any]) -> int:
        return int(self._execute(prepared, values).rowcount)

    def close(self) -> None:
        """Close the driver's cursor: on SQLite a read it left unfinished ends with it."""
        for cursor in (self._cursor, self._plain):
            if cursor is not None:
                cursor.close()
        self._cursor = self._plain = None
