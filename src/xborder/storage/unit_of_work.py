"""SqlAlchemyUnitOfWork: one connection, one transaction, the repositories over it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection, RootTransaction
from sqlalchemy.engine import Engine

from xborder.services.unit_of_work import AbstractUnitOfWork
from xborder.storage.engine import READONLY
from xborder.storage.repository import SqlAlchemyPaymentRepository


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """A unit of work on an engine; ``readonly`` units never take SQLite's write lock."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self._engine = engine
        self._readonly = readonly
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        connection = self._engine.connect()
        if self._readonly:
            connection.execution_options(**{READONLY: True})
        self._connection = connection
        self._transaction = connection.begin()
        self.payments = SqlAlchemyPaymentRepository(connection)
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
