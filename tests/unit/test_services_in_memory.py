"""The use cases over the in-memory unit of work: no database, no I/O (STYLE habit 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakeUowFactory
from tests.payloads import payment_request
from xborder.clock import Instant
from xborder.domain.errors import CancellationNotPermitted, PaymentNotFound, ReferenceConflict
from xborder.domain.model import Payment
from xborder.domain.projects import Environment, PartnerBinding, Project
from xborder.domain.request import parse_payment_request
from xborder.domain.states import PaymentStatus
from xborder.services import payments
from xborder.services.errors import StaleRegistry
from xborder.services.nonces import NonceGuard
from xborder.services.payments import PaymentRules
from xborder.services.registry import RegistryCache

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PARTNER = "SANDBOX_PARTNER1"


class CountingClock:
    """A clock that moves one second at every read, to show how often a use case reads it."""

    def __init__(self) -> None:
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return NOW + timedelta(seconds=self.reads)


def _create(factory: FakeUowFactory, reference: str = "REF-1") -> Payment:
    request = parse_payment_request(payment_request(reference))
    return payments.create_payment(PARTNER, request, uow_factory=factory, clock=Instant(NOW),
                                   rules=PaymentRules())  # fmt: skip


def test_a_created_sandbox_payment_is_pending_and_stored_once() -> None:
    factory = FakeUowFactory()
    payment = _create(factory)
    assert payment.status is PaymentStatus.PENDING
    assert list(factory.store.payments) == [payment.id]
    again = _create(factory)  # D7: the same request again answers the same payment
    assert again.id == payment.id and len(factory.store.payments) == 1


def test_another_payload_under_the_same_reference_is_a_conflict() -> None:
    factory = FakeUowFactory()
    _create(factory)
    other = parse_payment_request(payment_request("REF-1", recipient_uri="tel:+254108990"))
    with pytest.raises(ReferenceConflict):
        payments.create_payment(PARTNER, other, uow_factory=factory, clock=Instant(NOW),
                                rules=PaymentRules())  # fmt: skip


def test_cancel_reads_the_clock_once_and_dates_everything_with_that_instant() -> None:
    factory = FakeUowFactory()
    created = _create(factory)
    clock = CountingClock()
    cancelled = payments.cancel_payment(PARTNER, created.id, uow_factory=factory, clock=clock,
                                        rules=PaymentRules())  # fmt: skip
    assert clock.reads == 1  # D22
    stored = factory.store.payments[created.id]
    assert stored.status is PaymentStatus.CANCELLED is cancelled.status
    event = factory.store.events[-1]
    assert stored.status_timestamp == event.occurred_at == NOW + timedelta(seconds=1)  # type: ignore[attr-defined]


def test_a_second_cancel_is_refused_and_changes_nothing() -> None:
    factory = FakeUowFactory()
    created = _create(factory, "REF-2")
    payments.cancel_payment(PARTNER, "REF-2", uow_factory=factory, clock=Instant(NOW),
                            rules=PaymentRules())  # fmt: skip
    commits, events = factory.store.commits, len(factory.store.events)
    with pytest.raises(CancellationNotPermitted):
        payments.cancel_payment(PARTNER, created.id, uow_factory=factory, clock=Instant(NOW),
                                rules=PaymentRules())  # fmt: skip
    assert (factory.store.commits, len(factory.store.events)) == (commits, events)


def test_an_unknown_payment_is_not_found_for_cancel_and_retrieve() -> None:
    factory = FakeUowFactory()
    with pytest.raises(PaymentNotFound):
        payments.cancel_payment(PARTNER, "rem_nothing", uow_factory=factory, clock=Instant(NOW),
                                rules=PaymentRules())  # fmt: skip
    with pytest.raises(PaymentNotFound):
        payments.get_payment(PARTNER, "rem_nothing", uow_factory=factory)


def _project(key: str, environment: Environment = Environment.SANDBOX) -> Project:
    return Project(key, environment, "-----CERT-----", None, NOW)


def test_the_registry_cache_serves_what_it_read_until_the_stamp_changes() -> None:
    factory = FakeUowFactory()
    with factory() as uow:
        uow.projects.add(_project("key-1"))
        uow.commit()
    cache = RegistryCache(factory)
    first = cache.access("key-1", PARTNER)
    commits = factory.store.commits
    assert cache.access("key-1", PARTNER) == first  # from the cache
    with factory() as uow:
        cache.check(uow, first.stamp)  # still current: nothing raised
    with factory() as uow:  # another process binds the partner to an mtf project
        uow.projects.add(_project("key-2", Environment.MTF))
        uow.partners.add(PartnerBinding(PARTNER, "key-2", NOW))
        uow.commit()
    assert factory.store.commits == commits + 1
    with factory() as uow, pytest.raises(StaleRegistry):
        cache.check(uow, first.stamp)
    fresh = cache.access("key-1", PARTNER)
    assert fresh.partner_project is not None and fresh.partner_project.consumer_key == "key-2"


def test_an_unknown_consumer_key_is_not_cached() -> None:
    factory = FakeUowFactory()
    cache = RegistryCache(factory)
    assert cache.access("late", PARTNER).project is None
    with factory() as uow:
        uow.projects.add(_project("late"))
        uow.commit()
    assert cache.access("late", PARTNER).project is not None


def test_a_nonce_is_recorded_in_the_callers_unit_and_remembered_after_commit() -> None:
    factory = FakeUowFactory()
    guard = NonceGuard(factory)
    with factory() as uow:
        assert guard.record(uow, "key", "n1", 1_700_000_000, 1_700_000_000)
        # not committed: another process would not see it, and it is not remembered yet
    assert not guard.seen("key", "n1", 1_700_000_000)
    with factory() as uow:
        assert guard.record(uow, "key", "n1", 1_700_000_000, 1_700_000_000)
        uow.commit()
    guard.remember("key", "n1", 1_700_000_000)
    assert guard.seen("key", "n1", 1_700_000_001)
    with factory() as uow:
        assert not guard.record(uow, "key", "n1", 1_700_000_000, 1_700_000_002)
