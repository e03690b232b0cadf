"""PostgreSQL's hot statements through psycopg's libpq layer (xborder.storage.libpq): the same
rows, the same errors and the same transaction as through psycopg's cursor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.databases import truncate_all
from tests.integration.test_repository import make_payment, stored
from xborder.storage.engine import make_engine
from xborder.storage.libpq import LibpqCursor, numbered
from xborder.storage.prepared import Cursor, Prepared
from xborder.storage.tables import outbox, payments
from xborder.storage.transaction import Transaction
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

pytestmark = pytest.mark.postgres

EVERY_COLUMN = Prepared(sa.select(*payments.c).where(payments.c.id == sa.bindparam("payment_id")))
STATUS_OF = Prepared(
    sa.select(payments.c.status).where(
        payments.c.pending_stage.is_not_distinct_from(sa.bindparam("stage", type_=sa.String()))
    )
)
AT_VERSION = Prepared(
    sa.select(payments.c.id).where(
        payments.c.version == sa.bindparam("version", type_=sa.Integer())
    )
)
BACKEND = Prepared(sa.select(sa.func.pg_backend_pid().label("pid")))
MARK = Prepared(
    payments.update()
    .where(payments.c.id == sa.bindparam("payment_id"))
    .values(return_message=sa.bindparam("message"))
)
NEW_EVENT = Prepared(outbox.insert(), column_keys=["event_ref", "payment_id", "partner_id",
    "transaction_reference", "previous_status", "status", "occurred_at"])  # fmt: skip


@pytest.fixture
def pg(postgres_session_engine: Engine) -> Iterator[Engine]:
    truncate_all(postgres_session_engine)
    yield postgres_session_engine


def libpq_and_cursor(engine: Engine) -> tuple[Transaction, Cursor]:
    """A transaction whose cursor is libpq's, and the driver's own cursor on the same
    connection, for the same statements (its ``_execute`` is the base class's)."""
    transaction = Transaction(engine)
    transaction.cursor.plain("SELECT 1")  # opens the transaction (psycopg's BEGIN)
    return transaction, Cursor(transaction.cursor._connection, engine.dialect)


def test_it_is_the_cursor_on_postgresql(pg: Engine) -> None:
    transaction = Transaction(pg)
    try:
        assert type(transaction.cursor).__name__ == "LibpqCursor"
    finally:
        transaction.close()


def test_rows_read_as_through_psycopgs_cursor(pg: Engine) -> None:
    payment = stored(SqlAlchemyUowFactory(pg), make_payment(return_message=None))
    transaction, plain = libpq_and_cursor(pg)
    try:
        fast = transaction.cursor.first(EVERY_COLUMN, {"payment_id": payment.id})
        slow = plain.first(EVERY_COLUMN, {"payment_id": payment.id})
        assert fast is not None and fast == slow
        assert {type(v) for v in fast.values()} == {type(v) for v in slow.values()}
        assert fast["status_timestamp"].tzinfo is UTC and fast["return_message"] is None
        assert transaction.cursor.first(EVERY_COLUMN, {"payment_id": "rem_none"}) is None
        assert transaction.cursor.all(STATUS_OF, {"stage": "Processing"}) == [{"status": "PENDING"}]
    finally:
        transaction.close()


def test_a_statement_is_prepared_once_per_parameter_types(pg: Engine) -> None:
    """psycopg gives an int the smallest type that holds it: prepared for a smallint, the
    statement would refuse 100,000; so it is prepared again for an integer, as psycopg's
    cursor does, and once only for each."""
    payment = stored(SqlAlchemyUowFactory(pg), make_payment())
    transaction, _ = libpq_and_cursor(pg)
    try:
        cursor = transaction.cursor
        for version in (1, 100_000, 2, 200_000, None):
            rows = cursor.all(AT_VERSION, {"version": version})
            assert rows == ([{"id": payment.id}] if version == 1 else [])
        # a smallint, an integer, and a NULL (no type): three statements, never a fourth
        assert len(prepared_as(transaction, AT_VERSION.compiled(numbered(pg.dialect)).sql)) == 3
    finally:
        transaction.close()


def test_writes_commit_and_roll_back_with_the_transaction(pg: Engine) -> None:
    payment = stored(SqlAlchemyUowFactory(pg), make_payment())
    for commit, expected in ((False, None), (True, "marked")):
        transaction, _ = libpq_and_cursor(pg)
        cursor = transaction.cursor
        try:
            assert cursor.rowcount(MARK, {"payment_id": payment.id, "message": "marked"}) == 1
            assert cursor.rowcount(MARK, {"payment_id": "rem_none", "message": "x"}) == 0
            if commit:
                transaction.commit()
        finally:
            transaction.close()
        assert message_of(pg, payment.id) == expected


def test_a_failed_statement_raises_sqlalchemys_error_and_its_savepoint_recovers(pg: Engine) -> None:
    payment = stored(SqlAlchemyUowFactory(pg), make_payment())
    event = {"event_ref": "ref-1", "payment_id": payment.id, "partner_id": "PARTNER",
             "transaction_reference": "REF-1", "previous_status": "PENDING",
             "status": "CANCELLED", "occurred_at": datetime(2026, 12, 6, tzinfo=UTC)}  # fmt: skip
    transaction, _ = libpq_and_cursor(pg)
    try:
        transaction.cursor.rowcount(NEW_EVENT, event)
        point = transaction.savepoint()
        with pytest.raises(IntegrityError) as raised:
            transaction.cursor.rowcount(NEW_EVENT, event)  # event_ref is unique
        assert type(raised.value.orig).__name__ == "UniqueViolation"
        transaction.rollback_to(point)
        assert transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "m"}) == 1
        transaction.commit()
    finally:
        transaction.close()
    assert message_of(pg, payment.id) == "m"
    with pg.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 1


def test_a_statement_on_an_idle_connection_opens_the_transaction(pg: Engine) -> None:
    """The first statement opens the transaction (``BEGIN``, as psycopg would): what
    follows it is one transaction, undone as a whole."""
    payment = stored(SqlAlchemyUowFactory(pg), make_payment())
    transaction = Transaction(pg)
    try:
        connection: Any = transaction.cursor._connection
        assert connection.pgconn.transaction_status == 0  # idle: no statement yet
        transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "first"})
        assert connection.pgconn.transaction_status == 2  # in a transaction
        transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "second"})
    finally:
        transaction.close()  # rolls back
    assert message_of(pg, payment.id) is None


def prepared_as(transaction: Transaction, sql: str) -> list[str]:
    """The names of the statements prepared on the transaction's connection as ``sql``."""
    rows = transaction.cursor.all(
        Prepared(
            sa.select(sa.column("name"), sa.column("statement")).select_from(
                sa.table("pg_prepared_statements")
            )
        ),
        {},
    )
    return [row["name"] for row in rows if row["statement"] == sql]


def message_of(engine: Engine, payment_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(payments.c.return_message).where(payments.c.id == payment_id)
        ).scalar_one()


def test_a_connection_lost_mid_transaction_fails_the_statement_and_is_discarded(
    pg: Engine,
) -> None:
    """A lost connection is SQLAlchemy's OperationalError, as through psycopg's cursor, and
    the pool connects anew."""
    engine = make_engine(pg.url.render_as_string(hide_password=False), pool_size=1)
    try:
        payment = stored(SqlAlchemyUowFactory(engine), make_payment())
        transaction, _ = libpq_and_cursor(engine)
        pid = transaction.cursor.first(BACKEND, {})
        assert pid is not None
        with pg.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), pid)
        with pytest.raises(OperationalError, match="connection"):
            transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "m"})
        # its rollback fails too (the driver's error: SQLAlchemy never took the connection)
        with pytest.raises(psycopg.OperationalError, match="lost"):
            transaction.close()
        transaction, _ = libpq_and_cursor(engine)  # the pool's only connection: a new one
        try:
            assert transaction.cursor.first(BACKEND, {}) != pid
            assert transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "m"})
        finally:
            transaction.close()
    finally:
        engine.dispose()


def test_psycopgs_rollback_leaves_the_prepared_statements(pg: Engine) -> None:
    """psycopg deallocates every statement of a connection when it rolls back one on which it
    prepared its own; xborder's engines never let it prepare (``prepare_threshold=None``)."""
    engine = make_engine(pg.url.render_as_string(hide_password=False), pool_size=1)
    try:
        payment = stored(SqlAlchemyUowFactory(engine), make_payment())
        for _ in range(2):
            transaction, _ = libpq_and_cursor(engine)
            try:
                assert transaction.cursor.first(EVERY_COLUMN, {"payment_id": payment.id})
                for _ in range(8):  # psycopg would prepare this after 5
                    transaction.connection().execute(sa.text("SELECT 1"))
            finally:
                transaction.close()  # psycopg's rollback
    finally:
        engine.dispose()


def test_statements_deallocated_under_it_are_prepared_again(pg: Engine) -> None:
    engine = make_engine(pg.url.render_as_string(hide_password=False), pool_size=1)
    try:
        payment = stored(SqlAlchemyUowFactory(engine), make_payment())
        for deallocate in (True, False):
            transaction, _ = libpq_and_cursor(engine)
            try:
                transaction.cursor.first(EVERY_COLUMN, {"payment_id": payment.id})
                if deallocate:
                    transaction.cursor.plain("DEALLOCATE ALL")
                    with pytest.raises(sa.exc.ProgrammingError, match="does not exist"):
                        transaction.cursor.first(EVERY_COLUMN, {"payment_id": payment.id})
                else:  # the next transaction on the connection prepares it again
                    row = transaction.cursor.first(EVERY_COLUMN, {"payment_id": payment.id})
                    assert row is not None and row["id"] == payment.id
            finally:
                transaction.close()
    finally:
        engine.dispose()


def test_a_connection_in_autocommit_runs_the_statement_through_psycopg(pg: Engine) -> None:
    payment = stored(SqlAlchemyUowFactory(pg), make_payment())
    transaction = Transaction(pg)
    connection: Any = transaction.cursor._connection
    connection.autocommit = True
    try:
        transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "kept"})
        assert connection.pgconn.transaction_status == 0  # committed by itself: no BEGIN
    finally:
        connection.autocommit = False
        transaction.close()
    assert message_of(pg, payment.id) == "kept"


def test_a_held_savepoint_goes_in_one_round_trip_with_the_statement_after_it(
    pg: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit's savepoint is sent in the pipeline of its first statement, not a round trip
    ahead of it, and is a savepoint all the same: rolling back to it undoes only what
    followed it."""
    payment = stored(SqlAlchemyUowFactory(pg), make_payment())
    separate: list[list[str]] = []
    pipelined: list[list[str]] = []
    send, pipeline = LibpqCursor.send, LibpqCursor._pipelined

    def sending(self: LibpqCursor, statements: list[str]) -> None:
        separate.append(statements)
        send(self, statements)

    def pipelining(self: LibpqCursor, held: list[str], *rest: Any) -> Any:
        pipelined.append(held)
        return pipeline(self, held, *rest)

    monkeypatch.setattr(LibpqCursor, "send", sending)
    monkeypatch.setattr(LibpqCursor, "_pipelined", pipelining)
    transaction, _ = libpq_and_cursor(pg)
    try:
        cursor = transaction.cursor
        cursor.rowcount(MARK, {"payment_id": payment.id, "message": "kept"})  # prepares MARK
        outer = transaction.savepoint()
        assert cursor.rowcount(MARK, {"payment_id": payment.id, "message": "undone"}) == 1
        transaction.release(outer)
        inner = transaction.savepoint()
        assert cursor.rowcount(MARK, {"payment_id": payment.id, "message": "undone"}) == 1
        transaction.rollback_to(inner)
        transaction.commit()
    finally:
        transaction.close()
    assert pipelined == [["SAVEPOINT xb1"], ["RELEASE SAVEPOINT xb1", "SAVEPOINT xb1"]]
    assert separate == []
    assert message_of(pg, payment.id) == "undone"  # the first savepoint's change was released


def test_a_connection_lost_before_a_pipelined_statement_fails_it(pg: Engine) -> None:
    engine = make_engine(pg.url.render_as_string(hide_password=False), pool_size=1)
    try:
        payment = stored(SqlAlchemyUowFactory(engine), make_payment())
        transaction, _ = libpq_and_cursor(engine)
        pid = transaction.cursor.first(BACKEND, {})
        transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "m"})
        with pg.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), pid)
        transaction.savepoint()
        with pytest.raises(OperationalError):
            transaction.cursor.rowcount(MARK, {"payment_id": payment.id, "message": "m"})
        with pytest.raises(psycopg.OperationalError):
            transaction.close()
        transaction, _ = libpq_and_cursor(engine)  # the pool's only connection: a new one
        try:
            assert transaction.cursor.first(BACKEND, {}) != pid
        finally:
            transaction.close()
    finally:
        engine.dispose()
