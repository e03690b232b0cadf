"""SqlAlchemyUnitOfWork: one connection, one transaction, the repositories over it.

The transaction is opened on the driver connection (:func:`begin_on_driver`) and the hot
repositories (payments, projects, partners, nonces) run prepared statements on it directly
(:mod:`xborder.storage.prepared`); the others go through the SQLAlchemy ``Connection``,
whose autobegin then joins the transaction already open. Commit and rollback go to whichever
holds it: SQLAlchemy's when it has begun, else the driver's.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from xborder.services.unit_of_work import AbstractUnitOfWork
from xborder.storage.accounts import SqlAlchemyAccountRepository
from xborder.storage.engine import READONLY, begin_on_driver, write_lock
from xborder.storage.operations import (
    SqlAlchemyClockOffset,
    SqlAlchemyEventLog,
    SqlAlchemySchedule,
)
from xborder.storage.prepared import Cursor
from xborder.storage.repository import SqlAlchemyPaymentRepository
from xborder.storage.security import (
    SqlAlchemyNonceRepository,
    SqlAlchemyPartnerRepository,
    SqlAlchemyProjectRepository,
)
from xborder.storage.webhooks import SqlAlchemyWebhookStore


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """A unit of work on an engine; ``readonly`` units never take SQLite's write lock."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self._engine = engine
        self._readonly = readonly
        self._connection: Connection | None = None
        self._driver: Any = None  # the DBAPI connection under self._connection
        self._open = False
        self._write_lock: threading.RLock | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self._write_lock = None if self._readonly else write_lock(self._engine)
        if self._write_lock is not None:
            self._write_lock.acquire()  # see xborder.storage.engine: SQLite writers queue here
        try:
            return self._begin()
        except BaseException:
            self._release_write_lock()
            raise

    def _begin(self) -> SqlAlchemyUnitOfWork:
        connection = self._engine.connect()
        self._connection = connection
        if self._readonly:
            connection.execution_options(**{READONLY: True})
        self._driver = connection.connection.dbapi_connection
        begin_on_driver(self._driver, self._engine.dialect.name, readonly=self._readonly)
        self._open = True
        cursor = Cursor(self._driver, self._engine.dialect)
        self.payments = SqlAlchemyPaymentRepository(cursor)
        self.projects = SqlAlchemyProjectRepository(connection, cursor)
        self.partners = SqlAlchemyPartnerRepository(connection, cursor)
        self.nonces = SqlAlchemyNonceRepository(connection, cursor)
        self.accounts = SqlAlchemyAccountRepository(connection)
        self.schedule = SqlAlchemySchedule(connection)
        self.events = SqlAlchemyEventLog(connection)
        self.clock_offset = SqlAlchemyClockOffset(connection)
        self.webhooks = SqlAlchemyWebhookStore(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                self._driver = None
            self._release_write_lock()

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()
            self._write_lock = None

    def commit(self) -> None:
        self._finish(commit=True)

    def rollback(self) -> None:
        self._finish(commit=False)

    def _finish(self, *, commit: bool) -> None:
        if not self._open or self._connection is None:
            return
        self._open = False
        if self._connection.in_transaction():  # SQLAlchemy joined: it ends the transaction
            if commit:
                self._connection.commit()
            else:
                self._connection.rollback()
        elif commit:
            self._driver.commit()
        else:
            self._driver.rollback()


def uow_factory_for(engine: Engine) -> SqlAlchemyUowFactory:
    """A factory the services call as ``uow_factory()`` or ``uow_factory(readonly=True)``."""
    return SqlAlchemyUowFactory(engine)


class SqlAlchemyUowFactory:
    """Callable making a fresh unit of work per use case."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, readonly: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, readonly=readonly)
