"""SqlAlchemyUnitOfWork: one connection, one transaction, the repositories over it.

The transaction is opened on the driver connection (:func:`begin_on_driver`) and the hot
repositories (payments, projects, partners, nonces, accounts) run prepared statements on it
directly (:mod:`xborder.storage.prepared`); the others go through a SQLAlchemy
``Connection`` over the same driver connection, made only when one of them is used, whose
autobegin then joins the transaction already open. Commit and rollback go to whichever
holds it: SQLAlchemy's when it has begun, else the driver's.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from xborder.services.unit_of_work import AbstractUnitOfWork
from xborder.storage.accounts import SqlAlchemyAccountRepository
from xborder.storage.engine import READONLY, WriteLock, begin_on_driver, write_lock
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

# Repositories that run through SQLAlchemy's Connection, made on first use: a signed request
# never touches them, and making the Connection costs more than its statements on the driver.
_COLD: dict[str, Callable[[Connection], object]] = {
    "schedule": SqlAlchemySchedule,
    "events": SqlAlchemyEventLog,
    "clock_offset": SqlAlchemyClockOffset,
    "webhooks": SqlAlchemyWebhookStore,
}


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """A unit of work on an engine; ``readonly`` units never take SQLite's write lock."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self._engine = engine
        self._readonly = readonly
        self._driver: Any = None  # the pool's proxy of the DBAPI connection
        self._connection: Connection | None = None  # SQLAlchemy's, over it, when needed
        self._open = False
        self._write_lock: WriteLock | None = None

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
        driver = self._engine.raw_connection()
        self._driver = driver
        try:
            begin_on_driver(driver.dbapi_connection, self._engine.dialect.name,
                            readonly=self._readonly)  # fmt: skip
        except BaseException:
            self._close()
            raise
        self._open = True
        cursor = Cursor(driver.dbapi_connection, self._engine.dialect)
        self.payments = SqlAlchemyPaymentRepository(cursor)
        self.projects = SqlAlchemyProjectRepository(self.connection, cursor)
        self.partners = SqlAlchemyPartnerRepository(self.connection, cursor)
        self.nonces = SqlAlchemyNonceRepository(self.connection, cursor)
        self.accounts = SqlAlchemyAccountRepository(self.connection, cursor)
        return self

    def connection(self) -> Connection:
        """SQLAlchemy's Connection over this unit's driver connection, made on first use; its
        autobegin joins the transaction already open (see ``xborder.storage.engine``)."""
        if self._connection is None:
            if self._driver is None:
                raise RuntimeError("the unit of work is not open")
            self._connection = Connection(self._engine, connection=self._driver)
            if self._readonly:
                self._connection.execution_options(**{READONLY: True})
        return self._connection

    def __getattr__(self, name: str) -> Any:
        make = _COLD.get(name)
        if make is None or self._driver is None:
            raise AttributeError(name)
        repository = make(self.connection())
        setattr(self, name, repository)
        return repository

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self._close()
            self._release_write_lock()

    def _close(self) -> None:
        for name in _COLD:
            self.__dict__.pop(name, None)
        owner = self._connection if self._connection is not None else self._driver
        self._connection = self._driver = None
        if owner is not None:
            owner.close()  # back to the pool, once

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()
            self._write_lock = None

    def commit(self) -> None:
        self._finish(commit=True)

    def rollback(self) -> None:
        self._finish(commit=False)

    def _finish(self, *, commit: bool) -> None:
        if not self._open or self._driver is None:
            return
        self._open = False
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


def uow_factory_for(engine: Engine) -> SqlAlchemyUowFactory:
    """A factory the services call as ``uow_factory()`` or ``uow_factory(readonly=True)``."""
    return SqlAlchemyUowFactory(engine)


class SqlAlchemyUowFactory:
    """Callable making a fresh unit of work per use case."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, readonly: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, readonly=readonly)
