"""The unit-of-work and repository contracts the services depend on.

Storage adapters implement them (``xborder.storage``); tests use the in-memory fakes in
``tests``. A unit of work is one database transaction: leaving the ``with`` block without
``commit()`` rolls everything back.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, TypeVar

from xborder.domain.model import Payment
from xborder.domain.projects import PartnerBinding, Project
from xborder.services.journal_ports import RequestJournal
from xborder.services.ports import (
    AccountRepository,
    ClockOffset,
    EventLog,
    OAuth2Store,
    Schedule,
    WebhookStore,
)


class PaymentRepository(Protocol):
    """Payments of all partners; every lookup is scoped to one partner."""

    def add(self, payment: Payment) -> None:
        """Insert a new payment and its events. Raises :class:`DuplicateReference`."""

    def get(self, partner_id: str, payment_id: str) -> Payment | None:
        """The partner's payment with that id, or None."""

    def get_by_reference(self, partner_id: str, reference: str) -> Payment | None:
        """The partner's payment with that transaction reference, or None."""

    def save(self, payment: Payment) -> None:
        """Store a changed payment and its new events, in one conditional update.

        Raises :class:`ConflictError` when the stored version is not ``payment.version``
        (someone else changed it first); on success ``payment.version`` is incremented.
        """


class ProjectRepository(Protocol):
    """Projects by consumer key (D11, D13)."""

    def add(self, project: Project) -> None:
        """Insert a project. Raises :class:`ConflictError` when the consumer key exists."""

    def get(self, consumer_key: str) -> Project | None:
        """The project with that consumer key, or None."""

    def all(self) -> list[Project]:
        """Every project, by consumer key."""

    def update(self, project: Project) -> None:
        """Write an existing project's encryption policy and region (D20, D23); its key,
        environment, certificates and creation time do not change."""

    def remove(self, consumer_key: str) -> bool:
        """Delete a project that has no partner bound; False when there was none."""


class PartnerRepository(Protocol):
    """Partner ids bound to projects (D13)."""

    def add(self, binding: PartnerBinding) -> None:
        """Bind a partner. Raises :class:`ConflictError` when it is bound already."""

    def get(self, partner_id: str) -> PartnerBinding | None:
        """The partner's binding, or None when it is not bound."""

    def project_of(self, partner_id: str) -> Project | None:
        """The project the partner is bound to, or None."""

    def all(self, consumer_key: str | None = None) -> list[PartnerBinding]:
        """Every binding, or those of one project, by partner id."""

    def remove(self, partner_id: str) -> bool:
        """Unbind a partner; False when it was not bound."""


class NonceRepository(Protocol):
    """OAuth nonces seen recently, shared by every server process (D11)."""

    def record(self, consumer_key: str, nonce: str, timestamp: int) -> bool:
        """Remember a nonce; False when this consumer key already used it."""

    def purge(self, before: int) -> int:
        """Forget nonces whose timestamp is older than ``before``; return how many."""


class RegistryStamp(Protocol):
    """The stamp every change of a project or a partner binding rewrites (see
    :mod:`xborder.services.registry`)."""

    def read(self) -> int:
        """The current stamp (0 when none was ever written)."""


class AbstractUnitOfWork(abc.ABC):
    """One transaction over the repositories."""

    payments: PaymentRepository
    projects: ProjectRepository
    partners: PartnerRepository
    nonces: NonceRepository
    registry: RegistryStamp  # cached projects are checked against it
    accounts: AccountRepository  # D16
    schedule: Schedule  # D17
    events: EventLog  # D14, read by operators
    clock_offset: ClockOffset  # D17
    webhooks: WebhookStore  # D14, the push sender's queue
    oauth2: OAuth2Store  # D23, grants and hashed tokens
    journal: RequestJournal  # issue 14, written off the request path

    def __enter__(self) -> AbstractUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Make every change of this unit durable, atomically."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard whatever was not committed (a no-op after commit)."""


_T = TypeVar("_T")


class WriteRunner(Protocol):
    """Runs a *unit* (a function of a unit-of-work factory) in a write transaction and
    returns its result once committed. The server's writer is one
    (``Writer.run_threadsafe``: its units join the request writes' groups); a factory's own
    transactions are another (:func:`own_transactions`)."""

    def __call__(self, unit: Callable[[Callable[..., AbstractUnitOfWork]], _T], /) -> _T: ...


def own_transactions(uow_factory: Callable[..., AbstractUnitOfWork]) -> WriteRunner:
    """Units run straight on ``uow_factory``: each unit of work it makes is a transaction
    of its own (the command line, tests)."""

    def run(unit: Callable[[Callable[..., AbstractUnitOfWork]], _T], /) -> _T:
        return unit(uow_factory)

    return run
