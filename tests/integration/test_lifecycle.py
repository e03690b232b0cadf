"""The lifecycle outside the sandbox (D13, D16, D17) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.lifecycle_support import bind, ledger_totals, outbox_statuses, request
from tests.payloads import payment_request
from xborder.clock import FixedClock
from xborder.domain.errors import (
    ActionRefused,
    CancellationNotPermitted,
    PaymentRejected,
    ValidationFailed,
)
from xborder.domain.ledger import Totals
from xborder.domain.model import Payment
from xborder.domain.request import parse_payment_request
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services import accounts, operator, scheduler
from xborder.services.payments import PaymentRules, cancel_payment, create_payment, get_payment
from xborder.storage.clock import DatabaseClock
from xborder.storage.engine import make_engine
from xborder.storage.unit_of_work import SqlAlchemyUowFactory
from xborder.storage.writer import Writer

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
CASH: dict[str, Any] = {
    "recipient_uri": "ewallet:mary;sp=cashco",
    "additional": [("7260", "CASH")],
}


class World:
    """One database, one clock, the use cases bound to them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.uow = SqlAlchemyUowFactory(engine)
        self.clock = FixedClock(NOW)
        self.rules = PaymentRules()

    def kw(self) -> dict[str, Any]:
        return {"uow_factory": self.uow, "clock": self.clock, "rules": self.rules}

    def create(self, partner: str, reference: str, amount: str = "100.00", **extra: Any) -> Payment:
        return create_payment(partner, request(reference, amount, **extra), **self.kw())

    def fund(self, partner: str, amount: str, currency: str = "USD") -> accounts.AccountSheet:
        return accounts.fund_account(partner, currency, amount, **self.kw())[0]

    def get(self, partner: str, payment_id: str) -> Payment:
        return get_payment(partner, payment_id, uow_factory=self.uow)

    def sheet(self, partner: str, currency: str = "USD") -> accounts.AccountSheet:
        sheets = accounts.list_accounts(partner, uow_factory=self.uow, clock=self.clock)
        return next(s for s in sheets if s.account.currency == currency)

    def tick(self) -> int:
        return scheduler.run_due_steps(**self.kw())


@pytest.fixture
def world(db: Engine) -> World:
    return World(db)


def test_sandbox_partner_follows_the_triggers_and_has_no_ledger(world: World) -> None:
    payment = world.create("SANDBOX1", "09SUCCESS-1")
    assert payment.status is PaymentStatus.SUCCESS and payment.environment == "sandbox"
    assert ledger_totals(world.engine).fund == 0
    sheets = accounts.list_accounts("SANDBOX1", uow_factory=world.uow, clock=world.clock)
    assert [s.account.account_id for s in sheets] == ["acct_1001", "acct_1003"]  # static


def test_partner_of_a_sandbox_project_is_a_sandbox_partner(world: World) -> None:
    bind(world.engine, "SBX_BOUND", "sandbox")
    assert world.create("SBX_BOUND", "09SUCCESS-2").status is PaymentStatus.SUCCESS


@pytest.mark.parametrize("environment", ["mtf", "production"])
def test_bound_partner_ignores_triggers_and_queues_without_funds(
    world: World, environment: str
) -> None:
    bind(world.engine, "BOUND1", environment)
    payment = world.create("BOUND1", "09WOULD-SUCCEED")
    assert payment.environment == environment
    assert (payment.status, payment.pending_stage) == (
        PaymentStatus.PENDING,
        PendingStage.INSUFFICIENT_BALANCE,
    )
    assert payment.pending_max_completion_date == NOW + world.rules.lifecycle.max_queue_time
    sheet = world.sheet("BOUND1")
    assert (sheet.available, sheet.queued, sheet.reserved) == (0, 10000, 0)


def test_a_long_clock_move_replays_each_step_at_its_own_time(world: World) -> None:
    bind(world.engine, "LONG")
    world.fund("LONG", "100.00")
    payment = world.create("LONG", "L1", recipient_uri="iban:CH9300762011623852957")
    delays = world.rules.lifecycle.delays_for(payment.channel)
    world.clock.advance(days=1)
    assert world.tick() == 2
    settled = world.get("LONG", payment.id)
    assert settled.status is PaymentStatus.SUCCESS
    assert settled.status_timestamp == NOW + delays.processing + delays.settlement


def test_the_steps_are_units_of_the_write_runner_it_is_given(world: World) -> None:
    """Issue 12: in the server the scheduler's writes go through the process's writer; each
    step (and the lease) is one unit of it, and the reads stay outside."""
    bind(world.engine, "RUNNER")
    world.fund("RUNNER", "100.00")
    payment = world.create("RUNNER", "W1", recipient_uri="iban:CH9300762011623852957")
    writer = Writer(world.engine)
    units: list[object] = []

    def write(unit: Any) -> Any:
        units.append(unit)
        return writer.run_threadsafe(unit)

    world.clock.advance(days=1)
    assert scheduler.take_lease(world.uow, "me", timedelta(seconds=5), write)
    assert scheduler.run_due_steps(**world.kw(), write=write) == 2
    writer.close()
    assert len(units) == 3  # the lease, then a unit per step (processing, settlement)
    assert world.get("RUNNER", payment.id).status is PaymentStatus.SUCCESS


def test_funded_payment_reserves_then_advances_and_settles(world: World) -> None:
    bind(world.engine, "MTF1")
    world.fund("MTF1", "250.00")
    payment = world.create("MTF1", "R1")
    assert payment.pending_stage is PendingStage.PROCESSING
    assert (world.sheet("MTF1").available, world.sheet("MTF1").reserved) == (15000, 10000)
    delays = world.rules.lifecycle.delays_for(payment.channel)
    world.clock.advance(seconds=delays.processing.total_seconds())
    assert world.tick() == 1
    assert world.get("MTF1", payment.id).pending_stage is PendingStage.ELIGIBLE_FOR_SETTLEMENT
    assert world.tick() == 0
    world.clock.advance(seconds=delays.settlement.total_seconds())
    assert world.tick() == 1
    assert world.get("MTF1", payment.id).status is PaymentStatus.SUCCESS
    sheet = world.sheet("MTF1")
    assert (sheet.available, sheet.reserved, sheet.settlement_account_balance) == (15000, 0, 15000)
    assert (sheet.processed, sheet.opening) == (10000, 25000)
    assert outbox_statuses(world.engine, payment.id) == ["PENDING", "SUCCESS"]


def test_funding_releases_in_strict_creation_order(world: World) -> None:
    bind(world.engine, "FIFO")
    world.fund("FIFO", "150.00")
    first = world.create("FIFO", "A", "100.00")
    second = world.create("FIFO", "B", "100.00")
    third = world.create("FIFO", "C", "30.00")  # would fit, but never overtakes B
    assert first.pending_stage is PendingStage.PROCESSING
    assert second.pending_stage is third.pending_stage is PendingStage.INSUFFICIENT_BALANCE
    world.fund("FIFO", "60.00")  # available 110: B goes, C (30) does not fit the 10 left
    assert world.get("FIFO", second.id).pending_stage is PendingStage.PROCESSING
    assert world.get("FIFO", third.id).pending_stage is PendingStage.INSUFFICIENT_BALANCE
    world.fund("FIFO", "20.00")
    assert world.get("FIFO", third.id).pending_stage is PendingStage.PROCESSING
    assert world.sheet("FIFO").available == 0 and world.sheet("FIFO").queued == 0


def test_queued_payment_expires_with_130196_and_the_next_one_moves_up(world: World) -> None:
    bind(world.engine, "EXP")
    world.fund("EXP", "50.00")
    head = world.create("EXP", "HEAD", "100.00")
    world.clock.advance(hours=1)
    follower = world.create("EXP", "NEXT", "40.00")  # fits, but waits behind HEAD
    assert follower.pending_stage is PendingStage.INSUFFICIENT_BALANCE
    world.clock.advance(seconds=world.rules.lifecycle.max_queue_time.total_seconds() - 3600)
    assert world.tick() == 2  # HEAD expires, then NEXT is released
    expired = world.get("EXP", head.id)
    assert expired.status is PaymentStatus.REJECTED and expired.rejection is not None
    assert expired.rejection.detail_code == "130196"
    assert world.get("EXP", follower.id).pending_stage is PendingStage.PROCESSING
    assert outbox_statuses(world.engine, head.id) == ["REJECTED"]


def test_cancel_releases_a_reservation_and_lets_the_queue_move(world: World) -> None:
    bind(world.engine, "CXL")
    world.fund("CXL", "100.00")
    cash = world.create("CXL", "CASH-1", **CASH)  # cash-out: cancellable in Processing (D3)
    queued = world.create("CXL", "CASH-2", "80.00", **CASH)
    assert cash.pending_stage is PendingStage.PROCESSING
    cancel_payment("CXL", cash.id, **world.kw())
    assert world.get("CXL", cash.id).status is PaymentStatus.CANCELLED
    assert world.get("CXL", queued.id).pending_stage is PendingStage.PROCESSING
    totals = ledger_totals(world.engine)
    assert (totals.reserve, totals.release, totals.available) == (18000, 10000, 2000)


def test_cancel_of_a_queued_payment_lowers_the_queued_balance(world: World) -> None:
    bind(world.engine, "CXQ")
    payment = world.create("CXQ", "BANK-1", recipient_uri="iban:CH9300762011623852957")
    assert world.sheet("CXQ").queued == 10000
    cancel_payment("CXQ", payment.id, **world.kw())
    assert world.sheet("CXQ").queued == 0
    assert ledger_totals(world.engine) == Totals()  # a queued payment never held anything


def test_d3_still_refuses_a_processing_bank_payment(world: World) -> None:
    bind(world.engine, "D3")
    world.fund("D3", "100.00")
    payment = world.create("D3", "BANK-2", recipient_uri="iban:CH9300762011623852957")
    with pytest.raises(CancellationNotPermitted):
        cancel_payment("D3", payment.id, **world.kw())
    assert world.sheet("D3").reserved == 10000


def test_operator_reject_releases_and_return_credits_back(world: World) -> None:
    bind(world.engine, "OPS")
    world.fund("OPS", "300.00")
    rejected = world.create("OPS", "REJ")
    operator.reject_payment("OPS", rejected.id, "130134", **world.kw())
    settled = world.create("OPS", "RET")
    operator.settle_payment("OPS", settled.id, **world.kw())
    assert world.sheet("OPS").available == 20000
    returned = operator.return_payment("OPS", "RET", "130190", **world.kw())  # by reference
    assert returned.status is PaymentStatus.RETURNED and returned.rejection is not None
    assert returned.rejection.detail_code == "130190"
    assert world.sheet("OPS").available == 30000
    assert outbox_statuses(world.engine, rejected.id) == ["REJECTED"]
    assert outbox_statuses(world.engine, settled.id) == ["SUCCESS", "RETURNED"]


def test_operator_advance_walks_every_stage(world: World) -> None:
    bind(world.engine, "ADV")
    payment = world.create("ADV", "WALK")
    with pytest.raises(ActionRefused, match="fund it first"):
        operator.advance_payment("ADV", payment.id, **world.kw())
    world.fund("ADV", "100.00")  # releases it
    stages = []
    for _ in range(2):
        moved = operator.advance_payment("ADV", payment.id, **world.kw())
        stages.append(moved.pending_stage or moved.status)
    assert stages == [PendingStage.ELIGIBLE_FOR_SETTLEMENT, PaymentStatus.SUCCESS]
    assert outbox_statuses(world.engine, payment.id) == ["PENDING", "PENDING", "SUCCESS"]


ILLEGAL = [
    ("advance", "SUCCESS", "has no next stage"),
    ("settle", "SUCCESS", "does not allow it"),
    ("reject", "SUCCESS", "does not allow it"),
    ("return", "PENDING", "does not allow it"),
    ("settle", "QUEUED", "holds no funds"),
    ("advance", "QUEUED", "fund it first"),
    ("settle", "CANCELLED", "does not allow it"),
]


@pytest.mark.parametrize(("action", "state", "reason"), ILLEGAL)
def test_illegal_operator_actions_are_refused(
    world: World, action: str, state: str, reason: str
) -> None:
    bind(world.engine, "ILL")
    if state != "QUEUED":
        world.fund("ILL", "100.00")
    payment = world.create("ILL", "X", **CASH)
    if state == "SUCCESS":
        operator.settle_payment("ILL", payment.id, **world.kw())
    if state == "CANCELLED":
        cancel_payment("ILL", payment.id, **world.kw())
    before = ledger_totals(world.engine)
    use_case = getattr(operator, f"{action}_payment")
    args = ("130101",) if action in ("reject", "return") else ()
    with pytest.raises(ActionRefused, match=reason):
        use_case("ILL", payment.id, *args, **world.kw())
    assert ledger_totals(world.engine) == before


def test_operator_input_is_checked(world: World) -> None:
    bind(world.engine, "INP")
    payment = world.create("INP", "Y")
    with pytest.raises(ValidationFailed):
        operator.reject_payment("INP", payment.id, "13x", **world.kw())
    with pytest.raises(ActionRefused, match="sandbox partner"):
        world.fund("SANDBOX9", "10.00")
    for amount in ("0", "-5", "1.001", "abc"):
        with pytest.raises(ValidationFailed):
            world.fund("INP", amount)


def test_concurrent_creates_never_overdraw(world: World) -> None:
    bind(world.engine, "RACE")
    world.fund("RACE", "500.00")
    barrier = threading.Barrier(12)
    created: list[Payment] = []

    def race(index: int) -> None:
        barrier.wait()
        created.append(world.create("RACE", f"RACE-{index}"))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stages = sorted(p.pending_stage.value for p in created if p.pending_stage)
    assert stages.count("Processing") == 5 and stages.count("InsufficientBalance") == 7
    sheet = world.sheet("RACE")
    assert (sheet.available, sheet.reserved, sheet.queued) == (0, 50000, 70000)


def test_concurrent_schedulers_take_each_step_once(world: World) -> None:
    bind(world.engine, "TWICE")
    world.fund("TWICE", "1000.00")
    payments = [world.create("TWICE", f"T{i}") for i in range(6)]
    world.clock.advance(hours=1)
    barrier = threading.Barrier(4)
    done: list[int] = []

    def run() -> None:
        barrier.wait()
        done.append(world.tick())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(done) == 12  # Processing -> EligibleForSettlement -> SUCCESS, once each
    for payment in payments:
        assert outbox_statuses(world.engine, payment.id) == ["PENDING", "SUCCESS"]


def test_the_lease_has_one_holder_at_a_time(world: World) -> None:
    ttl = timedelta(seconds=30)
    assert scheduler.take_lease(world.uow, "process-a", ttl)
    assert not scheduler.take_lease(world.uow, "process-b", ttl)
    assert scheduler.take_lease(world.uow, "process-a", ttl)  # renewal
    assert scheduler.take_lease(world.uow, "process-b", timedelta(0)) is False
    assert scheduler.take_lease(world.uow, "process-a", timedelta(microseconds=1))
    threading.Event().wait(0.01)  # let a's short lease run out
    assert scheduler.take_lease(world.uow, "process-b", ttl)


def test_the_controllable_clock_is_shared_through_the_database(world: World) -> None:
    base = FixedClock(NOW)
    first, second = DatabaseClock(world.engine, base), DatabaseClock(world.engine, base)
    assert first.now() == NOW
    with world.uow() as uow:
        uow.clock_offset.advance(timedelta(hours=2))
        uow.commit()
    assert first.now() == second.now() == NOW + timedelta(hours=2)
    first.close()
    second.close()


def test_unpriced_payments_are_rejected_at_submission_without_ledger(world: World) -> None:
    bind(world.engine, "UNP")
    body = payment_request("UNPRICED")
    body["fx_type"] = {"forward": {"fees_included": "true", "receiver_currency": "XCD"}}
    with pytest.raises(PaymentRejected):
        create_payment("UNP", parse_payment_request(body), **world.kw())
    assert ledger_totals(world.engine).reserve == 0


def test_the_controllable_clock_never_starves_the_main_pool(db: Engine) -> None:
    """``now()`` runs inside units of work; with a one-connection main pool and many threads,
    borrowing the clock's connection from that pool would block until the pool timeout."""
    small = make_engine(db.url.render_as_string(hide_password=False), pool_size=1)
    clock = DatabaseClock(small, FixedClock(NOW))
    uow_factory = SqlAlchemyUowFactory(small)
    bind(small, "POOL")
    rules = PaymentRules()
    barrier = threading.Barrier(8)
    created: list[Payment] = []

    def race(index: int) -> None:
        barrier.wait()
        parsed = request(f"POOL-{index}")
        created.append(
            create_payment("POOL", parsed, uow_factory=uow_factory, clock=clock, rules=rules)
        )

    try:
        threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert len(created) == 8
    finally:
        clock.close()
        small.dispose()
