"""SqlAlchemyUnitOfWork: the repositories over one transaction (:mod:`~.transaction`).

A unit of work either owns its transaction (the command line, tests, a read of the API: it
opens one on enter, and commit/rollback end it) or is *nested* in a transaction someone else
owns (a request's, or a writer group's: :mod:`xborder.storage.writer`), where it is a
savepoint: ``commit()`` releases it into the enclosing transaction and leaving without commit
rolls back to it. The use cases cannot tell the two apart; that is what lets the writer run
them unchanged, many to one commit.

Every repository is built on enter, explicitly. The hot ones (payments, projects, partners,
nonces, accounts, the registry stamp) run prepared statements on the driver cursor; the cold
ones ask the transaction for SQLAlchemy's Connection, which is made only when they do.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Engine

from xborder.services.unit_of_work import AbstractUnitOfWork
from xborder.storage.accounts import SqlAlchemyAccountRepository
from xborder.storage.engine import WriteLock, write_lock
from xborder.storage.journal import SqlAlchemyRequestJournal
from xborder.storage.lifecycle import (
    SqlAlchemyClockOffset,
    SqlAlchemyEventLog,
    SqlAlchemySchedule,
)
from xborder.storage.oauth2 import SqlAlchemyOAuth2Store
from xborder.storage.payments import SqlAlchemyPaymentRepository
from xborder.storage.registry import (
    SqlAlchemyNonceRepository,
    SqlAlchemyPartnerRepository,
    SqlAlchemyProjectRepository,
    SqlAlchemyRegistryStamp,
)
from xborder.storage.transaction import Transaction
from xborder.storage.webhooks import SqlAlchemyWebhookStore


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    """A unit of work on an engine, owning its transaction or nested in ``within``.

    An owning write unit takes the engine's :class:`~xborder.storage.engine.WriteLock` first
    (SQLite writers queue there); ``readonly`` units never do.
    """

    def __init__(
        self, engine: Engine, *, readonly: bool = False, within: Transaction | None = None
    ) -> None:
        self._engine = engine
        self._readonly = readonly
        self._within = within
        self._owned: Transaction | None = None
        self._savepoint: str | None = None
        self._write_lock: WriteLock | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._within is not None:
            self._bind(self._within)
            if not self._readonly:
                self._savepoint = self._within.savepoint()
            return self
        self._write_lock = None if self._readonly else write_lock(self._engine)
        if self._write_lock is not None:
            self._write_lock.acquire()  # see xborder.storage.engine: SQLite writers queue here
        try:
            self._owned = Transaction(self._engine, readonly=self._readonly)
        except BaseException:
            self._release_write_lock()
            raise
        self._bind(self._owned)
        return self

    def _bind(self, transaction: Transaction) -> None:
        # built once per transaction: a writer group's units share them (they hold no state
        # of a unit's own), so a unit costs attribute copies, not a dozen constructions
        repositories = transaction.repositories
        if repositories is None:
            repositories = transaction.repositories = Repositories(transaction)
        self.payments = repositories.payments
        self.projects = repositories.projects
        self.partners = repositories.partners
        self.nonces = repositories.nonces
        self.accounts = repositories.accounts
        self.registry = repositories.registry
        self.schedule = repositories.schedule
        self.events = repositories.events
        self.clock_offset = repositories.clock_offset
        self.webhooks = repositories.webhooks
        self.oauth2 = repositories.oauth2
        self.journal = repositories.journal

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._owned is not None:
                owned, self._owned = self._owned, None
                try:
                    owned.close()
                finally:
                    self._release_write_lock()

    def _release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()
            self._write_lock = None

    def commit(self) -> None:
        if self._savepoint is not None and self._within is not None:
            name, self._savepoint = self._savepoint, None
            self._within.release(name)
        elif self._owned is not None:
            self._owned.commit()

    def rollback(self) -> None:
        if self._savepoint is not None and self._within is not None:
            name, self._savepoint = self._savepoint, None
            self._within.rollback_to(name)
        elif self._owned is not None:
            self._owned.rollback()


class Repositories:
    """Every repository over one transaction: the hot ones on its driver cursor, the cold
    ones on its SQLAlchemy Connection (made when one of them first runs a statement)."""

    __slots__ = (
        "accounts", "clock_offset", "events", "journal", "nonces", "oauth2", "partners",
        "payments", "projects", "registry", "schedule", "webhooks",
    )  # fmt: skip

    def __init__(self, transaction: Transaction) -> None:
        cursor, connection = transaction.cursor, transaction.connection
        self.payments = SqlAlchemyPaymentRepository(cursor)
        self.projects = SqlAlchemyProjectRepository(connection, cursor)
        self.partners = SqlAlchemyPartnerRepository(connection, cursor)
        self.nonces = SqlAlchemyNonceRepository(connection, cursor)
        self.accounts = SqlAlchemyAccountRepository(connection, cursor)
        self.registry = SqlAlchemyRegistryStamp(transaction)
        self.schedule = SqlAlchemySchedule(connection)
        self.events = SqlAlchemyEventLog(connection)
        self.clock_offset = SqlAlchemyClockOffset(connection)
        self.webhooks = SqlAlchemyWebhookStore(connection)
        self.oauth2 = SqlAlchemyOAuth2Store(connection)
        self.journal = SqlAlchemyRequestJournal(connection)


class SqlAlchemyUowFactory:
    """Callable making a fresh unit of work per use case, each owning its transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, *, readonly: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, readonly=readonly)


class NestedUowFactory:
    """Callable making units of work nested in one open transaction (a request's, or a
    writer group's): each write unit is a savepoint of it, each read unit simply reads in it."""

    def __init__(self, engine: Engine, transaction: Transaction) -> None:
        self.engine = engine
        self.transaction = transaction

    def __call__(self, *, readonly: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, readonly=readonly, within=self.transaction)
