"""Prepared statements on the driver cursor store and read exactly what ``Connection.execute``
does (same SQL, same conversions), and raise SQLAlchemy's exception family."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xborder.storage.prepared import Cursor, Prepared, insert_or_ignore
from xborder.storage.tables import nonces, projects

WHEN = datetime(2026, 11, 26, 17, 30, 0, tzinfo=UTC)  # no microseconds: the format must keep them
_COLUMNS = ("consumer_key", "environment", "signing_certificate", "created")
_INSERT = Prepared(projects.insert(), column_keys=_COLUMNS)
_SELECT = Prepared(projects.select().where(projects.c.consumer_key == sa.bindparam("key")))
_COUNT = Prepared(sa.select(sa.func.count().label("n")).select_from(nonces))


def _values(key: str) -> dict[str, object]:
    return {"consumer_key": key, "environment": "sandbox", "signing_certificate": "PEM",
            "created": WHEN}  # fmt: skip


def test_a_row_written_on_the_cursor_is_stored_as_execute_stores_it(db: Engine) -> None:
    with db.begin() as connection:
        connection.execute(projects.insert(), _values("by-execute"))
        Cursor(connection.connection.dbapi_connection, db.dialect).rowcount(
            _INSERT, _values("by-cursor")
        )
    with db.connect() as connection:
        raw = connection.execute(
            sa.text("SELECT consumer_key, created FROM projects ORDER BY consumer_key")
        ).all()
    assert raw[0][1] == raw[1][1]  # the same stored form, whatever the backend's type


def test_a_row_read_on_the_cursor_has_the_types_execute_gives(db: Engine) -> None:
    with db.begin() as connection:
        connection.execute(projects.insert(), _values("k1"))
        cursor = Cursor(connection.connection.dbapi_connection, db.dialect)
        row = cursor.first(_SELECT, {"key": "k1"})
        expected = dict(connection.execute(projects.select()).mappings().one())
    assert row == expected
    assert row is not None and row["created"] == WHEN and row["created"].tzinfo is not None
    with db.connect() as connection:
        cursor = Cursor(connection.connection.dbapi_connection, db.dialect)
        assert cursor.first(_SELECT, {"key": "absent"}) is None
        assert cursor.first(_COUNT, {}) == {"n": 0}


def test_driver_errors_are_raised_as_sqlalchemy_errors(db: Engine) -> None:
    with db.begin() as connection:
        cursor = Cursor(connection.connection.dbapi_connection, db.dialect)
        cursor.rowcount(_INSERT, _values("twice"))
        with pytest.raises(sa.exc.IntegrityError) as caught:
            cursor.rowcount(_INSERT, _values("twice"))
    assert isinstance(caught.value.orig, db.dialect.loaded_dbapi.IntegrityError)


def test_an_unnamed_column_is_refused_when_compiled(db: Engine) -> None:
    with pytest.raises(ValueError, match="label"):
        Prepared(sa.select(sa.func.count())).compiled(db.dialect)


def test_a_statement_is_compiled_once_per_dialect(db: Engine) -> None:
    assert _SELECT.compiled(db.dialect) is _SELECT.compiled(db.dialect)
    assert "consumer_key" in _SELECT.compiled(db.dialect).columns


def test_insert_or_ignore_inserts_once_and_then_returns_nothing(db: Engine) -> None:
    record = insert_or_ignore(
        nonces, column_keys=("consumer_key", "nonce", "timestamp"), returning=(nonces.c.nonce,)
    )
    values = {"consumer_key": "k", "nonce": "n", "timestamp": 1}
    with db.begin() as connection:
        cursor = Cursor(connection.connection.dbapi_connection, db.dialect)
        assert cursor.first(record, values) == {"nonce": "n"}
        assert cursor.first(record, values) is None  # no error, and the transaction goes on
        assert cursor.first(_COUNT, {}) == {"n": 1}
