"""Projects, partner bindings and the nonce store (D11, D13) on SQLite and PostgreSQL: the
repositories, the project use cases and the replay guard shared by server processes."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tests.certificates import self_signed
from xborder.clock import FixedClock
from xborder.domain.projects import EncryptionPolicy, Environment, PartnerBinding, Project, Region
from xborder.security.keys import certificate_pem, generate_key_pair_and_certificate
from xborder.services import errors as service_errors
from xborder.services import projects
from xborder.services.nonces import NonceGuard
from xborder.storage.tables import nonces
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = 1_800_000_000


@pytest.fixture(scope="module")
def cert() -> str:
    return certificate_pem(generate_key_pair_and_certificate("project", 30)[1]).decode()


@pytest.fixture
def uow_factory(db: Engine) -> SqlAlchemyUowFactory:
    return SqlAlchemyUowFactory(db)


def add(uow_factory: SqlAlchemyUowFactory, cert: str, key: str, env: Environment) -> Project:
    return projects.add_project(key, env, cert, uow_factory=uow_factory, clock=FixedClock(NOW))


# --- repositories ----------------------------------------------------------------------------


def test_project_round_trip(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    project = Project("k!1", Environment.MTF, cert, cert, NOW)
    with uow_factory() as uow:
        uow.projects.add(project)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.projects.get("k!1") == project
        assert uow.projects.get("other") is None
        assert uow.projects.all() == [project]
    with uow_factory() as uow:
        assert uow.projects.remove("k!1") and not uow.projects.remove("k!1")
        uow.commit()


def test_duplicate_project_is_a_conflict(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    with uow_factory() as uow:
        uow.projects.add(Project("k", Environment.SANDBOX, cert, None, NOW))
        uow.commit()
    with uow_factory() as uow, pytest.raises(service_errors.ConflictError):
        uow.projects.add(Project("k", Environment.MTF, cert, None, NOW))


def test_environment_is_checked_by_the_database(db: Engine, cert: str) -> None:
    with db.begin() as connection, pytest.raises(IntegrityError):
        connection.execute(
            sa.text(
                "INSERT INTO projects (consumer_key, environment, signing_certificate, created)"
                " VALUES ('k', 'staging', :cert, :created)"
            ),
            {"cert": cert, "created": NOW.replace(tzinfo=None)},
        )


def test_partner_bindings(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    mtf = add(uow_factory, cert, "mtf!1", Environment.MTF)
    with uow_factory() as uow:
        uow.partners.add(PartnerBinding("P2", "mtf!1", NOW))
        uow.partners.add(PartnerBinding("P1", "mtf!1", NOW))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.partners.project_of("P1") == mtf
        assert uow.partners.project_of("P3") is None
        assert [b.partner_id for b in uow.partners.all()] == ["P1", "P2"]
        assert uow.partners.all("other") == []
        assert uow.partners.get("P1") == PartnerBinding("P1", "mtf!1", NOW)


def test_partner_needs_an_existing_project(uow_factory: SqlAlchemyUowFactory) -> None:
    with uow_factory() as uow, pytest.raises(service_errors.ConflictError):
        uow.partners.add(PartnerBinding("P1", "nobody", NOW))


def test_nonce_is_recorded_once_per_consumer_key(uow_factory: SqlAlchemyUowFactory) -> None:
    with uow_factory() as uow:
        assert uow.nonces.record("k1", "n", T0)
        assert not uow.nonces.record("k1", "n", T0 + 5)
        assert uow.nonces.record("k2", "n", T0)
        uow.commit()
    with uow_factory() as uow:
        assert not uow.nonces.record("k1", "n", T0)


def test_purge_forgets_old_nonces_only(uow_factory: SqlAlchemyUowFactory, db: Engine) -> None:
    with uow_factory() as uow:
        for age in (1000, 400, 10):
            uow.nonces.record("k", f"n{age}", T0 - age)
        assert uow.nonces.purge(T0 - 360) == 2
        uow.commit()
    with db.connect() as connection:
        assert connection.execute(sa.select(nonces.c.nonce)).scalars().all() == ["n10"]


@pytest.mark.parametrize("racers", [12])
def test_concurrent_records_of_one_nonce_have_one_winner(db: Engine, racers: int) -> None:
    barrier = threading.Barrier(racers)
    results: list[bool] = []

    def race() -> None:
        guard = NonceGuard(SqlAlchemyUowFactory(db))  # one per "process": no shared cache
        barrier.wait()
        results.append(guard.check_and_record("k", "racing-nonce", T0, T0))

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * (racers - 1) + [True]


# --- use cases -------------------------------------------------------------------------------


def test_add_project_checks_its_input(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    for key in ("", "has space", 'quo"te', "com,ma", "per%cent", "x" * 201, "é"):
        with pytest.raises(service_errors.InvalidProject):
            add(uow_factory, cert, key, Environment.SANDBOX)
    with pytest.raises(service_errors.InvalidProject):
        add(uow_factory, "not a certificate", "k", Environment.SANDBOX)
    add(uow_factory, cert, "k", Environment.SANDBOX)
    with pytest.raises(service_errors.ProjectExists):
        add(uow_factory, cert, "k", Environment.MTF)


def stamp(uow_factory: SqlAlchemyUowFactory) -> int:
    with uow_factory(readonly=True) as uow:
        return uow.registry.read()


def test_update_changes_policy_and_region_and_restamps(
    uow_factory: SqlAlchemyUowFactory, cert: str
) -> None:
    """D20, D23: the two settings change, nothing else does, and running servers are told."""
    added = projects.add_project(
        "k", Environment.MTF, cert, cert, uow_factory=uow_factory, clock=FixedClock(NOW)
    )
    assert (added.encryption, added.region) == (EncryptionPolicy.OPTIONAL, Region.GLOBAL)
    before = stamp(uow_factory)
    updated = projects.update_project(
        "k", encryption=EncryptionPolicy.REQUIRED, uow_factory=uow_factory
    )
    assert updated == dataclasses.replace(added, encryption=EncryptionPolicy.REQUIRED)
    assert stamp(uow_factory) != before
    moved = projects.update_project("k", region=Region.UK, uow_factory=uow_factory)
    assert (moved.encryption, moved.region) == (EncryptionPolicy.REQUIRED, Region.UK)
    with uow_factory(readonly=True) as uow:
        assert uow.projects.get("k") == moved
        assert uow.projects.all() == [moved]


def test_update_that_changes_nothing_writes_nothing(
    uow_factory: SqlAlchemyUowFactory, cert: str
) -> None:
    project = add(uow_factory, cert, "k", Environment.SANDBOX)
    before = stamp(uow_factory)
    assert (
        projects.update_project(
            "k", encryption=EncryptionPolicy.OPTIONAL, region=Region.GLOBAL, uow_factory=uow_factory
        )
        == project
    )
    assert projects.update_project("k", uow_factory=uow_factory) == project
    assert stamp(uow_factory) == before


def test_update_refusals(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    with pytest.raises(service_errors.ProjectNotFound):
        projects.update_project("nobody", region=Region.EU, uow_factory=uow_factory)
    project = add(uow_factory, cert, "k", Environment.SANDBOX)  # no encryption certificate
    before = stamp(uow_factory)
    with pytest.raises(service_errors.InvalidProject, match="client-encryption certificate"):
        projects.update_project(
            "k", encryption=EncryptionPolicy.REQUIRED, region=Region.EU, uow_factory=uow_factory
        )
    with uow_factory(readonly=True) as uow:
        assert uow.projects.get("k") == project  # the region did not change either
    assert stamp(uow_factory) == before


def test_add_with_a_policy_and_a_region(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    clock = FixedClock(NOW)
    project = projects.add_project(
        "k",
        Environment.SANDBOX,
        cert,
        cert,
        encryption=EncryptionPolicy.REQUIRED,
        region=Region.EU,
        uow_factory=uow_factory,
        clock=clock,
    )
    with uow_factory(readonly=True) as uow:
        assert uow.projects.get("k") == project
    with pytest.raises(service_errors.InvalidProject, match="client-encryption certificate"):
        projects.add_project(
            "k2",
            Environment.SANDBOX,
            cert,
            encryption=EncryptionPolicy.REQUIRED,
            uow_factory=uow_factory,
            clock=clock,
        )
    assert [s.project for s in projects.list_projects(uow_factory=uow_factory)] == [project]


def test_an_ec_p256_signing_certificate_is_for_eu_and_uk_projects_only(
    uow_factory: SqlAlchemyUowFactory, cert: str
) -> None:
    """D23: request tokens are RS256 or ES256; OAuth 1.0a (D11) verifies RSA only."""
    ec_cert, p384_cert = _ec_certificate(ec.SECP256R1()), _ec_certificate(ec.SECP384R1())
    clock = FixedClock(NOW)
    uk = projects.add_project(
        "uk", Environment.SANDBOX, ec_cert, region=Region.UK, uow_factory=uow_factory, clock=clock
    )
    with pytest.raises(service_errors.InvalidProject, match="RSA certificate"):
        projects.add_project(
            "g", Environment.SANDBOX, ec_cert, uow_factory=uow_factory, clock=clock
        )
    with pytest.raises(service_errors.InvalidProject, match="EC P-256"):
        projects.add_project(
            "eu", Environment.SANDBOX, p384_cert, region=Region.EU, uow_factory=uow_factory,
            clock=clock,
        )  # fmt: skip
    # the encryption certificate is the one refused
    with pytest.raises(service_errors.InvalidProject, match="RSA certificate"):
        projects.add_project(
            "eu", Environment.SANDBOX, cert, ec_cert, region=Region.EU, uow_factory=uow_factory,
            clock=clock,
        )  # fmt: skip
    before = stamp(uow_factory)
    with pytest.raises(service_errors.InvalidProject, match="RSA certificate"):
        projects.update_project("uk", region=Region.GLOBAL, uow_factory=uow_factory)
    assert projects.update_project("uk", region=Region.EU, uow_factory=uow_factory).region is (
        Region.EU
    )
    with uow_factory(readonly=True) as uow:
        assert [p.consumer_key for p in uow.projects.all()] == ["uk"]
        assert uow.projects.get("uk") == dataclasses.replace(uk, region=Region.EU)
    assert stamp(uow_factory) != before


def _ec_certificate(curve: ec.EllipticCurve) -> str:
    certificate = self_signed(ec.generate_private_key(curve), "ec project", start=NOW)
    return certificate_pem(certificate).decode()


def test_list_and_remove(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    clock = FixedClock(NOW)
    add(uow_factory, cert, "b", Environment.SANDBOX)
    add(uow_factory, cert, "a", Environment.PRODUCTION)
    projects.bind_partner("P1", "a", uow_factory=uow_factory, clock=clock)
    listed = projects.list_projects(uow_factory=uow_factory)
    assert [(s.project.consumer_key, s.partner_ids) for s in listed] == [("a", ("P1",)), ("b", ())]
    with pytest.raises(service_errors.ProjectHasPartners):
        projects.remove_project("a", uow_factory=uow_factory)
    assert projects.remove_project("a", unbind_partners=True, uow_factory=uow_factory) == ["P1"]
    assert projects.partner_project("P1", uow_factory=uow_factory) is None
    with pytest.raises(service_errors.ProjectNotFound):
        projects.remove_project("a", uow_factory=uow_factory)


def test_bind_and_unbind(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    clock = FixedClock(NOW)
    add(uow_factory, cert, "a", Environment.MTF)
    add(uow_factory, cert, "b", Environment.MTF)
    with pytest.raises(service_errors.ProjectNotFound):
        projects.bind_partner("P1", "nobody", uow_factory=uow_factory, clock=clock)
    first = projects.bind_partner("P1", "a", uow_factory=uow_factory, clock=clock)
    assert projects.bind_partner("P1", "a", uow_factory=uow_factory, clock=clock) == first
    with pytest.raises(service_errors.PartnerAlreadyBound):
        projects.bind_partner("P1", "b", uow_factory=uow_factory, clock=clock)
    assert projects.list_partners(uow_factory=uow_factory) == [first]
    projects.unbind_partner("P1", uow_factory=uow_factory)
    with pytest.raises(service_errors.PartnerNotBound):
        projects.unbind_partner("P1", uow_factory=uow_factory)


def test_access_for_reads_both_projects(uow_factory: SqlAlchemyUowFactory, cert: str) -> None:
    clock = FixedClock(NOW)
    sandbox = add(uow_factory, cert, "s", Environment.SANDBOX)
    mtf = add(uow_factory, cert, "m", Environment.MTF)
    projects.bind_partner("MTF1", "m", uow_factory=uow_factory, clock=clock)
    assert projects.access_for("s", "ANY", uow_factory=uow_factory) == projects.Access(
        sandbox, None
    )
    access = projects.access_for("s", "MTF1", uow_factory=uow_factory)
    assert access == projects.Access(sandbox, mtf) and not access.entitled
    assert projects.access_for("m", "MTF1", uow_factory=uow_factory).entitled
    assert not projects.access_for("nobody", "ANY", uow_factory=uow_factory).entitled


# --- the replay guard ------------------------------------------------------------------------


def count_nonces(db: Engine) -> int:
    with db.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(nonces)).scalar_one())


def test_guard_holds_across_processes(db: Engine) -> None:
    first, second = NonceGuard(SqlAlchemyUowFactory(db)), NonceGuard(SqlAlchemyUowFactory(db))
    assert first.check_and_record("k", "n1", T0, T0)
    assert not first.check_and_record("k", "n1", T0, T0 + 1)
    assert not second.check_and_record("k", "n1", T0, T0 + 2)
    assert second.check_and_record("k", "n2", T0, T0 + 2)


def test_guard_purges_as_it_goes(db: Engine) -> None:
    guard = NonceGuard(SqlAlchemyUowFactory(db), tolerance=300, purge_every=5, purge_interval=10**6)
    for i in range(4):
        assert guard.check_and_record("k", f"old{i}", T0, T0)
    assert count_nonces(db) == 4  # the first call purged an empty table
    later = T0 + 300 + 60 + 1  # every old nonce is beyond window and margin
    assert guard.check_and_record("k", "new0", later, later)
    assert count_nonces(db) == 5  # four records since the first call's purge: none yet
    assert guard.check_and_record("k", "new1", later, later)
    assert count_nonces(db) == 2  # the fifth record since then purged the old ones


def test_guard_cache_forgets_what_the_window_has_expired(db: Engine) -> None:
    guard = NonceGuard(SqlAlchemyUowFactory(db), tolerance=300, cache_size=2)
    assert guard.check_and_record("k", "a", T0, T0)
    assert not guard.check_and_record("k", "a", T0, T0)  # from the cache
    guard.check_and_record("k", "b", T0, T0)
    guard.check_and_record("k", "c", T0, T0)  # "a" leaves the bounded cache
    assert not guard.check_and_record("k", "a", T0, T0)  # the database still knows it
