"""What a create costs in storage work, on SQLite and PostgreSQL: a sandbox create stays on
the driver cursor (no SQLAlchemy Connection, no ledger), a replay reads the clock only when
the resubmission rule needs it, and the answer is the payment as created."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.lifecycle_support import bind, request
from xborder.clock import FixedClock
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.payments import PaymentRules, create_payment, get_payment
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


class CountingClock(FixedClock):
    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.reads = 0

    def now(self) -> datetime:
        self.reads += 1
        return super().now()


def _create(db: Engine, clock: FixedClock, partner: str, reference: str) -> Any:
    uow = SqlAlchemyUowFactory(db)
    return create_payment(partner, request(reference), uow_factory=uow, clock=clock,
                          rules=PaymentRules())  # fmt: skip


@pytest.mark.parametrize("bound", [False, True], ids=["unbound", "bound-sandbox"])
def test_a_sandbox_create_never_makes_a_connection(
    db: Engine, connections: list[str], bound: bool
) -> None:
    if bound:
        bind(db, "SBX", "sandbox")
    connections.clear()
    payment = _create(db, FixedClock(NOW), "SBX", "SANDBOX-REF-1")
    assert (payment.status, payment.pending_stage) == (
        PaymentStatus.PENDING,
        PendingStage.PROCESSING,
    )
    assert connections == []  # no cold repository: accounts, events, ... untouched
    assert _create(db, FixedClock(NOW), "SBX", "SANDBOX-REF-1").id == payment.id  # replay
    assert connections == []


def test_a_ledger_create_still_locks_its_account(db: Engine, connections: list[str]) -> None:
    bind(db, "LEDGER1", "mtf")
    connections.clear()
    payment = _create(db, FixedClock(NOW), "LEDGER1", "LEDGER-REF-1")
    assert payment.pending_stage is PendingStage.INSUFFICIENT_BALANCE  # D16: nothing funded
    assert connections == []  # the account repository runs on the cursor too
    with SqlAlchemyUowFactory(db)(readonly=True) as uow:
        account = uow.accounts.find("LEDGER1", "USD")
        assert account is not None  # locked, so created
        assert [q.payment_id for q in uow.accounts.queue(account.account_id)] == [payment.id]


def test_the_answer_is_the_payment_as_created(db: Engine) -> None:
    answer = _create(db, FixedClock(NOW), "SBX", "8ANSWER-RR130101")
    assert answer.status is PaymentStatus.SUCCESS  # the create answers SUCCESS ...
    assert (answer.version, answer.events) == (0, [])
    stored = get_payment("SBX", answer.id, uow_factory=SqlAlchemyUowFactory(db))
    assert stored.status is PaymentStatus.RETURNED  # ... Retrieve then shows RETURNED


def test_a_replay_reads_the_clock_only_for_the_resubmission_rule(db: Engine) -> None:
    clock = CountingClock(NOW)
    _create(db, clock, "SBX", "PLAIN-REF-1")
    ambiguous = _create(db, clock, "SBX", "11S0000000501")
    assert clock.reads == 2  # one instant per create
    _create(db, clock, "SBX", "PLAIN-REF-1")
    assert clock.reads == 2  # a plain replay needs no time
    clock.advance(minutes=15)
    settled = _create(db, clock, "SBX", "11S0000000501")
    assert clock.reads == 3  # read once, for the check and the settle
    assert settled.status is PaymentStatus.SUCCESS
    assert settled.status_timestamp == NOW + timedelta(minutes=15)
    assert settled.id == ambiguous.id
