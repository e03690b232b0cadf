"""SqlAlchemyRequestJournal: the request journal's table (issue 14)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection

from xborder.services.journal_ports import JournalEntry, JournalFilter
from xborder.services.ports import DeliveryRecord
from xborder.storage.tables import outbox, request_journal, webhook_deliveries
from xborder.storage.webhooks import DELIVERIES

_FIELDS = [f.name for f in dataclasses.fields(JournalEntry) if f.name != "id"]
_COLUMNS = [request_journal.c[name] for name in ("id", *_FIELDS)]


_INSERT = f"INSERT INTO request_journal ({', '.join(_FIELDS)}) VALUES "  # noqa: S608 - our column names
_INSERT_SQLITE = _INSERT + f"({', '.join('?' for _ in _FIELDS)})"
_INSERT_PG = _INSERT + f"({', '.join('%s' for _ in _FIELDS)})"


def _value(value: object, sqlite: bool) -> object:
    """As :class:`~xborder.storage.tables.UtcDateTime` stores it: naive UTC text on SQLite
    (SQLAlchemy's own format, so Core reads it back), aware on PostgreSQL."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else utc
    return value


class SqlAlchemyRequestJournal:
    """Implements :class:`xborder.services.journal_ports.RequestJournal`."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def add(self, entries: list[JournalEntry]) -> None:
        # Straight to the driver's executemany: a third of Core's cost per row, and the
        # journal writes a row for every request the server answers.
        if not entries:
            return
        connection = self._connection()
        sqlite = connection.dialect.name == "sqlite"
        rows = [tuple(_value(getattr(e, name), sqlite) for name in _FIELDS) for e in entries]
        connection.exec_driver_sql(_INSERT_SQLITE if sqlite else _INSERT_PG, rows)

    def prune(self, max_rows: int, older_than: datetime) -> int:
        connection = self._connection()
        removed = connection.execute(
            request_journal.delete().where(request_journal.c.at < older_than)
        ).rowcount
        newest = connection.execute(sa.select(sa.func.max(request_journal.c.id))).scalar()
        if newest is not None and newest > max_rows:
            statement = request_journal.delete().where(request_journal.c.id <= newest - max_rows)
            removed += connection.execute(statement).rowcount
        return removed

    def page(self, where: JournalFilter, limit: int, before: int | None) -> list[JournalEntry]:
        query = sa.select(*_COLUMNS).order_by(request_journal.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(request_journal.c.id < before)
        if where.partner_id is not None:
            query = query.where(request_journal.c.partner_id == where.partner_id)
        if where.payment:
            query = query.where(request_journal.c.payment_id.in_(where.payment))
        if where.status is not None:
            query = query.where(request_journal.c.status == where.status)
        if where.since is not None:
            query = query.where(request_journal.c.at >= where.since)
        rows = self._connection().execute(query).mappings()
        return [JournalEntry(**row) for row in rows]

    def get(self, entry_id: int) -> JournalEntry | None:
        query = sa.select(*_COLUMNS).where(request_journal.c.id == entry_id)
        row = self._connection().execute(query).mappings().first()
        return JournalEntry(**row) if row else None

    def heads(self) -> tuple[int, int, int]:
        query = sa.select(
            sa.select(sa.func.max(request_journal.c.id)).scalar_subquery(),
            sa.select(sa.func.max(outbox.c.id)).scalar_subquery(),
            sa.select(sa.func.max(webhook_deliveries.c.id)).scalar_subquery(),
        )
        row = self._connection().execute(query).one()
        return (row[0] or 0, row[1] or 0, row[2] or 0)

    def entries_after(self, after: int, limit: int) -> list[JournalEntry]:
        query = (
            sa.select(*_COLUMNS)
            .where(request_journal.c.id > after)
            .order_by(request_journal.c.id)
            .limit(limit)
        )
        return [JournalEntry(**row) for row in self._connection().execute(query).mappings()]

    def deliveries_after(self, after: int, limit: int) -> list[DeliveryRecord]:
        query = DELIVERIES.where(webhook_deliveries.c.id > after).limit(limit)
        return [DeliveryRecord(**row) for row in self._connection().execute(query).mappings()]
