"""SqlAlchemyUnitOfWork: one connection, one transaction, the repositories over it."""

from __future__ import annotations

import threading
from types import TracebackType

from sqlalchemy import Connection, RootTransaction
from sqlalchemy.engine import Engine

from xborder.services.unit_of_work import AbstractUnitOfWork
from xborder.storage.accounts import SqlAlchemyAccountRepository
from xborder.storage.engine import READONLY, write_lock
from xborder.storage.operations import (
    SqlAlchemyClockOffset,
    SqlAlchemyEventLog,
    SqlAlchemySchedule,
)
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
        self._transaction: RootTransaction | None = None
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
        if self._readonly:
            connection.execution_options(**{READONLY: True})
        self._connection = connection
        self._transaction = connection.begin()
        self.payments = SqlAlchemyPaymentRepository(connection)
        self.projects = SqlAlchemyProjectRepository(connection)
        self.partners = SqlAlchemyPartnerRepository(connection)
        self.nonces = SqlAlchemyNonceRepository(connection)
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
            self._release_write_lock()

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()
            self._write_lock = None

    def commit(self) -> None:
        if self._transaction is not None:
            self._transaction.commit()

    def rollback(self) -> None:
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()


def uow_factory_for(engine: Engine) -> SqlAlchemyUowFactory:
    """A factory the services call as ``uow_factory()`` or ``uow_factory(readonly=True)``."""
    return SqlAlchemyUowFactory(engine)


class SqlAlchemyUowFactory:
    """Callable making a fresh unit of work per use case."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, readonly: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, readonly=readonly)
