"""Project and partner use cases: register keys, bind partners, decide who may call (D11, D13).

Projects hold public certificates only (PEM text). The gate calls :func:`access_for` once per
signed request and applies :func:`xborder.domain.projects.is_entitled` to the answer; the
command line calls the rest.

Its refusals (``ProjectError`` and its subclasses) are in :mod:`xborder.services.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xborder.clock import Clock
from xborder.domain.projects import (
    EncryptionPolicy,
    Environment,
    PartnerBinding,
    Project,
    Region,
    is_entitled,
    is_valid_consumer_key,
)
from xborder.errors import ConfigError
from xborder.security.keys import load_certificate, load_request_token_certificate
from xborder.services.errors import (
    ConflictError,
    InvalidProject,
    PartnerAlreadyBound,
    PartnerNotBound,
    ProjectExists,
    ProjectHasPartners,
    ProjectNotFound,
)
from xborder.services.payments import UowFactory


@dataclass(frozen=True, slots=True)
class Access:
    """What the gate needs to decide on a request: the caller's project (None: unknown
    consumer key) and the project the partner is bound to (None: unbound)."""

    project: Project | None
    partner_project: Project | None

    @property
    def entitled(self) -> bool:
        """D13: the caller's project may act for this partner."""
        return self.project is not None and is_entitled(self.project, self.partner_project)


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """A project and the partners bound to it."""

    project: Project
    partner_ids: tuple[str, ...]


def add_project(
    consumer_key: str,
    environment: Environment,
    signing_certificate: str,
    encryption_certificate: str | None = None,
    *,
    encryption: EncryptionPolicy = EncryptionPolicy.OPTIONAL,
    region: Region = Region.GLOBAL,
    uow_factory: UowFactory,
    clock: Clock,
) -> Project:
    """Register a project (D13) with its encryption policy (D20) and region (D23).
    Certificates are PEM text and must hold RSA keys, except that an eu or uk project's
    signing certificate may hold an EC P-256 key (ES256 request tokens, D23).

    Raises:
        InvalidProject: the consumer key cannot travel in an OAuth header, a certificate is
            not a PEM RSA certificate (nor, for an eu/uk signing one, EC P-256), or
            ``required`` encryption without a client-encryption certificate.
        ProjectExists: the consumer key is registered already.
    """
    if not is_valid_consumer_key(consumer_key):
        raise InvalidProject(
            "consumer key must be 1 to 200 printable ASCII characters"
            ' without spaces, quotes, commas, backslashes or "%"'
        )
    _check_signing_certificate(signing_certificate, region)
    if encryption_certificate is not None:
        _check_certificate("encryption", encryption_certificate)
    project = Project(
        consumer_key,
        environment,
        signing_certificate,
        encryption_certificate,
        clock.now(),
        encryption,
        region,
    )
    _check_policy(project)
    with uow_factory() as uow:
        try:
            uow.projects.add(project)
        except ConflictError as exc:
            raise ProjectExists(f"project {consumer_key} exists already") from exc
        uow.commit()
    return project


def update_project(
    consumer_key: str,
    *,
    encryption: EncryptionPolicy | None = None,
    region: Region | None = None,
    uow_factory: UowFactory,
) -> Project:
    """Change a project's encryption policy (D20) and/or region (D23); None keeps the value.
    Running servers apply the change from their next request (the registry stamp).

    Raises:
        ProjectNotFound: no such project.
        InvalidProject: ``required`` encryption for a project without a client-encryption
            certificate, or region ``global`` for a project whose signing key is not RSA
            (OAuth 1.0a signs with RSA only, D11).
    """
    with uow_factory() as uow:
        current = uow.projects.get(consumer_key)
        if current is None:
            raise ProjectNotFound(f"no project {consumer_key}")
        project = replace(
            current,
            encryption=encryption if encryption is not None else current.encryption,
            region=region if region is not None else current.region,
        )
        if project == current:
            return current  # nothing to write: running servers keep their cached registry
        _check_policy(project)
        _check_signing_certificate(project.signing_certificate, project.region)
        uow.projects.update(project)
        uow.commit()
    return project


def list_projects(*, uow_factory: UowFactory) -> list[ProjectSummary]:
    """Every project with the partners bound to it, by consumer key."""
    with uow_factory(readonly=True) as uow:
        bound: dict[str, list[str]] = {}
        for binding in uow.partners.all():
            bound.setdefault(binding.consumer_key, []).append(binding.partner_id)
        return [ProjectSummary(p, tuple(bound.get(p.consumer_key, ()))) for p in uow.projects.all()]


def remove_project(
    consumer_key: str, *, unbind_partners: bool = False, uow_factory: UowFactory
) -> list[str]:
    """Remove a project; return the partner ids that were unbound with it.

    Raises:
        ProjectNotFound: no such project.
        ProjectHasPartners: partners are bound and ``unbind_partners`` is false.
    """
    with uow_factory() as uow:
        partner_ids = [b.partner_id for b in uow.partners.all(consumer_key)]
        if partner_ids and not unbind_partners:
            raise ProjectHasPartners(
                f"project {consumer_key} has {len(partner_ids)} partner(s) bound"
            )
        for partner_id in partner_ids:
            uow.partners.remove(partner_id)
        if not uow.projects.remove(consumer_key):
            raise ProjectNotFound(f"no project {consumer_key}")
        uow.commit()
    return partner_ids


def bind_partner(
    partner_id: str, consumer_key: str, *, uow_factory: UowFactory, clock: Clock
) -> PartnerBinding:
    """Bind a partner to a project (D13); binding it again to the same project is harmless.

    Raises:
        ProjectNotFound: no such project.
        PartnerAlreadyBound: the partner is bound to another project.
    """
    with uow_factory() as uow:
        if uow.projects.get(consumer_key) is None:
            raise ProjectNotFound(f"no project {consumer_key}")
        existing = uow.partners.get(partner_id)
        if existing is not None:
            if existing.consumer_key != consumer_key:
                raise PartnerAlreadyBound(
                    f"partner {partner_id} is bound to project {existing.consumer_key}"
                )
            return existing
        binding = PartnerBinding(partner_id, consumer_key, clock.now())
        try:
            uow.partners.add(binding)
        except ConflictError as exc:
            raise PartnerAlreadyBound(f"partner {partner_id} was bound meanwhile") from exc
        uow.commit()
    return binding


def unbind_partner(partner_id: str, *, uow_factory: UowFactory) -> None:
    """Remove a partner's binding. Raises :class:`PartnerNotBound`."""
    with uow_factory() as uow:
        if not uow.partners.remove(partner_id):
            raise PartnerNotBound(f"partner {partner_id} is not bound")
        uow.commit()


def list_partners(*, uow_factory: UowFactory) -> list[PartnerBinding]:
    """Every partner binding, by partner id."""
    with uow_factory(readonly=True) as uow:
        return uow.partners.all()


def access_for(consumer_key: str, partner_id: str, *, uow_factory: UowFactory) -> Access:
    """The caller's project and the partner's project, read in one transaction (D11, D13)."""
    with uow_factory(readonly=True) as uow:
        return Access(uow.projects.get(consumer_key), uow.partners.project_of(partner_id))


def partner_project(partner_id: str, *, uow_factory: UowFactory) -> Project | None:
    """The project a partner is bound to, or None for an unbound (sandbox) partner."""
    with uow_factory(readonly=True) as uow:
        return uow.partners.project_of(partner_id)


def _check_policy(project: Project) -> None:
    """D20: a ``required`` project's answers are always encrypted, so it needs a certificate
    to encrypt them to."""
    if project.encryption is EncryptionPolicy.REQUIRED and project.encryption_certificate is None:
        raise InvalidProject(
            f"project {project.consumer_key} has no client-encryption certificate:"
            " required encryption needs one to encrypt its answers to (D20)"
        )


def _check_signing_certificate(pem: str, region: Region) -> None:
    """D11 verifies RSA signatures only; D23's request tokens are RS256 or ES256."""
    if region is Region.GLOBAL:
        try:
            load_certificate(pem.encode("ascii"))
        except (ConfigError, UnicodeEncodeError) as exc:
            raise InvalidProject(
                "the signing certificate is not a PEM RSA certificate"
                " (a global project signs with OAuth 1.0a, RSA only)"
            ) from exc
        return
    try:
        load_request_token_certificate(pem.encode("ascii"))
    except (ConfigError, UnicodeEncodeError) as exc:
        raise InvalidProject(
            "the signing certificate is not a PEM RSA or EC P-256 certificate (D23)"
        ) from exc


def _check_certificate(what: str, pem: str) -> None:
    try:
        load_certificate(pem.encode("ascii"))
    except (ConfigError, UnicodeEncodeError) as exc:
        raise InvalidProject(f"the {what} certificate is not a PEM RSA certificate") from exc
