"""In-memory stand-ins for the storage adapters, for service tests without a database
(cosmicpython's ``FakeUnitOfWork``; STYLE habit 8).

They implement the repository protocols of :mod:`xborder.services.unit_of_work` the way the
SQL adapters do: copies in and out (a use case that changes a loaded payment without saving
it changes nothing), the optimistic version check on save, unique references, and commit or
rollback of the whole unit. Only the sandbox paths are covered: payments, projects, partner
bindings, nonces and the registry stamp; the ledger repositories (mtf and production, D16)
are not here, and a use case that reaches them fails with ``AttributeError``.
"""

from __future__ import annotations

import copy
import secrets
from types import TracebackType

from xborder.api.gate import Admitted, Caller, Incoming
from xborder.domain.model import Payment
from xborder.domain.projects import PartnerBinding, Project
from xborder.services.errors import ConflictError, DuplicateReference
from xborder.services.unit_of_work import AbstractUnitOfWork


class FakeStore:
    """What a database would hold; shared by the units of work of one test."""

    def __init__(self) -> None:
        self.payments: dict[str, Payment] = {}
        self.events: list[object] = []
        self.projects: dict[str, Project] = {}
        self.partners: dict[str, PartnerBinding] = {}
        self.nonces: dict[tuple[str, str], int] = {}
        self.stamp = 1
        self.commits = 0


class FakePaymentRepository:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def add(self, payment: Payment) -> None:
        if self.get_by_reference(payment.partner_id, payment.transaction_reference):
            raise DuplicateReference(payment.transaction_reference)
        payment.version = 1
        self._keep(payment)

    def get(self, partner_id: str, payment_id: str) -> Payment | None:
        found = self._store.payments.get(payment_id)
        return copy.deepcopy(found) if found and found.partner_id == partner_id else None

    def get_by_reference(self, partner_id: str, reference: str) -> Payment | None:
        for payment in self._store.payments.values():
            if payment.partner_id == partner_id and payment.transaction_reference == reference:
                return copy.deepcopy(payment)
        return None

    def save(self, payment: Payment) -> None:
        stored = self._store.payments.get(payment.id)
        if stored is None or stored.version != payment.version:
            raise ConflictError(payment.id)
        payment.version += 1
        self._keep(payment)

    def _keep(self, payment: Payment) -> None:
        self._store.events.extend(payment.events)
        payment.events.clear()
        self._store.payments[payment.id] = copy.deepcopy(payment)


class FakeProjectRepository:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def add(self, project: Project) -> None:
        if project.consumer_key in self._store.projects:
            raise ConflictError(project.consumer_key)
        self._store.projects[project.consumer_key] = project
        self._store.stamp = secrets.randbits(62) + 2

    def get(self, consumer_key: str) -> Project | None:
        return self._store.projects.get(consumer_key)

    def update(self, project: Project) -> None:
        if project.consumer_key not in self._store.projects:
            raise ConflictError(project.consumer_key)
        self._store.projects[project.consumer_key] = project
        self._store.stamp = secrets.randbits(62) + 2

    def all(self) -> list[Project]:
        return [self._store.projects[k] for k in sorted(self._store.projects)]

    def remove(self, consumer_key: str) -> bool:
        self._store.stamp = secrets.randbits(62) + 2
        return self._store.projects.pop(consumer_key, None) is not None


class FakePartnerRepository:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def add(self, binding: PartnerBinding) -> None:
        if binding.partner_id in self._store.partners:
            raise ConflictError(binding.partner_id)
        self._store.partners[binding.partner_id] = binding
        self._store.stamp = secrets.randbits(62) + 2

    def get(self, partner_id: str) -> PartnerBinding | None:
        return self._store.partners.get(partner_id)

    def project_of(self, partner_id: str) -> Project | None:
        binding = self._store.partners.get(partner_id)
        return self._store.projects.get(binding.consumer_key) if binding else None

    def all(self, consumer_key: str | None = None) -> list[PartnerBinding]:
        bindings = sorted(self._store.partners.values(), key=lambda b: b.partner_id)
        return [b for b in bindings if consumer_key in (None, b.consumer_key)]

    def remove(self, partner_id: str) -> bool:
        self._store.stamp = secrets.randbits(62) + 2
        return self._store.partners.pop(partner_id, None) is not None


class FakeNonceRepository:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def record(self, consumer_key: str, nonce: str, timestamp: int) -> bool:
        key = (consumer_key, nonce)
        if key in self._store.nonces:
            return False
        self._store.nonces[key] = timestamp
        return True

    def purge(self, before: int) -> int:
        old = [k for k, t in self._store.nonces.items() if t < before]
        for key in old:
            del self._store.nonces[key]
        return len(old)


class FakeRegistryStamp:
    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def read(self) -> int:
        return self._store.stamp


class FakeUnitOfWork(AbstractUnitOfWork):
    """A unit of work over a :class:`FakeStore`: changes made through it reach the store only
    on ``commit()``, all together, as a transaction's would."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._working: FakeStore | None = None

    def __enter__(self) -> FakeUnitOfWork:
        self._working = copy.deepcopy(self._store)
        self.payments = FakePaymentRepository(self._working)
        self.projects = FakeProjectRepository(self._working)
        self.partners = FakePartnerRepository(self._working)
        self.nonces = FakeNonceRepository(self._working)
        self.registry = FakeRegistryStamp(self._working)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        if self._working is not None:
            committed = self._store.commits + 1
            self._store.__dict__.update(self._working.__dict__)
            self._store.commits = committed
            self._working = None

    def rollback(self) -> None:
        self._working = None


class FakeUowFactory:
    """Called as the services call ``uow_factory()`` or ``uow_factory(readonly=True)``."""

    def __init__(self, store: FakeStore | None = None) -> None:
        self.store = store or FakeStore()

    def __call__(self, *, readonly: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store)


class OpenGate:
    """A gate that admits every request as an unauthenticated sandbox caller, for suites that
    are not about authentication (implements :class:`xborder.api.gate.Gate`)."""

    def admit(self, incoming: Incoming) -> Admitted:
        return Admitted(
            Caller(consumer_key=None), incoming.body, incoming.headers.get("content-type")
        )

    def record(self, uow: AbstractUnitOfWork, admitted: Admitted) -> None:
        return None

    def settle(self, admitted: Admitted) -> None:
        return None

    def seal(self, caller: Caller, body: bytes, media_type: str) -> tuple[bytes, dict[str, str]]:
        return body, {}
