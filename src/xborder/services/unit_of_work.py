"""The unit-of-work and repository contracts the services depend on.

Storage adapters implement them (``xborder.storage``); tests use the in-memory fakes in
``tests``. A unit of work is one database transaction: leaving the ``with`` block without
``commit()`` rolls everything back.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Protocol

from xborder.domain.model import Payment
from xborder.errors import XborderError


class ConflictError(XborderError):
    """Raised by a repository when a save lost a race (stale version or duplicate key)."""


class DuplicateReference(ConflictError):
    """Raised by ``add`` when the partner already has a payment with that reference."""


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


class AbstractUnitOfWork(abc.ABC):
    """One transaction over the repositories."""

    payments: PaymentRepository

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
