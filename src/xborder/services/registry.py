"""Projects and partner bindings, cached per process, never served stale (D11, D13).

Every signed request needs its caller's project (consumer key, certificates, environment) and
the project its partner is bound to. Reading them from the database on every request would
cost a transaction of its own; instead each process keeps what it has read, together with the
*registry stamp* it read alongside (a row every change of a project or a binding rewrites, in
the changing transaction: :mod:`xborder.storage.registry`).

The cache is used before the request's transaction (to verify the signature, which needs the
project's certificate), and checked inside it: :meth:`RegistryCache.check` compares the stamp
the answers were read under with the stamp the request's own transaction sees, and raises
:class:`StaleRegistry` when they differ. The caller then drops the cache and decides again on
fresh answers, so a decision is only ever acted on when the registry it rests on was still
current at the moment the request's changes commit: a project removed by another process
refuses its next request, whatever this process had cached.

Unknown consumer keys are not cached (a project registered later is found at once); "this
partner is bound to nothing" is, since unsigned sandbox requests ask it every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from xborder.domain.projects import Project
from xborder.services.errors import StaleRegistry
from xborder.services.payments import UowFactory
from xborder.services.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True, slots=True)
class Access:
    """The caller's project (None: unknown consumer key), the project the partner is bound
    to (None: unbound), and the registry stamp both were read under."""

    project: Project | None
    partner_project: Project | None
    stamp: int


class RegistryCache:
    """The registry as this process last read it (see the module docstring)."""

    def __init__(self, uow_factory: UowFactory) -> None:
        self._uow_factory = uow_factory
        self._stamp: int | None = None
        self._projects: dict[str, Project] = {}
        self._bindings: dict[str, Project | None] = {}

    def access(self, consumer_key: str | None, partner_id: str) -> Access:
        """The caller's and the partner's projects, from the cache or read together."""
        stamp = self._stamp
        project = self._projects.get(consumer_key) if consumer_key is not None else None
        found_binding = partner_id in self._bindings
        if stamp is not None and found_binding and (consumer_key is None or project):
            return Access(project, self._bindings[partner_id], stamp)
        return self._read(consumer_key, partner_id)

    def check(self, uow: AbstractUnitOfWork, stamp: int) -> None:
        """Raise :class:`StaleRegistry` (and drop the cache) when ``stamp`` is not the stamp
        ``uow``'s transaction sees."""
        if uow.registry.read() != stamp:
            self.forget()
            raise StaleRegistry("the registry changed meanwhile")

    def refresh(self) -> bool:
        """Whether the registry changed since the cache was filled; when it did, the cache is
        dropped (the caller decides again). For refusals, which never reach :meth:`check`."""
        with self._uow_factory(readonly=True) as uow:
            stamp = uow.registry.read()
        if stamp == self._stamp:
            return False
        self.forget()
        return True

    def forget(self) -> None:
        """Drop everything cached."""
        self._stamp = None
        self._projects = {}
        self._bindings = {}

    def _read(self, consumer_key: str | None, partner_id: str) -> Access:
        with self._uow_factory(readonly=True) as uow:
            stamp = uow.registry.read()
            project = uow.projects.get(consumer_key) if consumer_key is not None else None
            partner_project = uow.partners.project_of(partner_id)
        if stamp != self._stamp:  # everything cached is of another stamp: start over
            self._projects, self._bindings, self._stamp = {}, {}, stamp
        if project is not None and consumer_key is not None:
            self._projects[consumer_key] = project
        self._bindings[partner_id] = partner_project
        return Access(project, partner_project, stamp)
