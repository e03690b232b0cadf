"""The ledger rules of D16 and the lifecycle's time-driven steps, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from xborder.domain.channels import Channel
from xborder.domain.errors import InsufficientFunds, LedgerViolation
from xborder.domain.ledger import (
    EntryKind,
    Totals,
    can_reserve,
    check_account,
    check_amount,
    check_payment,
    from_minor,
    release,
    reserve,
    return_,
    settle,
    to_minor,
)
from xborder.domain.lifecycle import LifecycleRules, Step, due_step, next_step
from xborder.domain.model import Payment
from xborder.domain.money import Money
from xborder.domain.states import PaymentStatus, PendingStage

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def totals(**kinds: int) -> Totals:
    return Totals.of((EntryKind[k.upper().rstrip("_")], v) for k, v in kinds.items())


@pytest.mark.parametrize(
    ("money", "minor"),
    [("12.34", 1234), ("0.01", 1), ("1000", 100000)],
)
def test_minor_units_round_trip(money: str, minor: int) -> None:
    assert to_minor(Money.of(money, "USD")) == minor
    assert from_minor(minor, "USD") == Money.of(money, "USD")


@pytest.mark.parametrize(("currency", "minor"), [("JPY", 1234), ("BHD", 1234), ("CLF", 1234)])
def test_minor_units_follow_the_currency(currency: str, minor: int) -> None:
    money = from_minor(minor, currency)
    assert to_minor(money) == minor
    assert money.amount == Decimal(minor).scaleb(-money.exponent)


def test_sub_minor_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="minor units"):
        to_minor(Money.of("10.005", "USD"))


def test_figures_follow_the_formulas() -> None:
    account = totals(fund=1000, reserve=700, release=100, settle=400, return_=50)
    assert account.reserved == 200
    assert account.settled == 350
    assert account.available == 1000 - 350 - 200
    check_account(account)


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "10"])
def test_entry_amounts_are_positive_integers(amount: object) -> None:
    with pytest.raises(LedgerViolation):
        check_amount(amount)  # type: ignore[arg-type]


def test_reserve_never_takes_available_below_zero() -> None:
    account = totals(fund=100)
    assert reserve(account, Totals(), 100) is EntryKind.RESERVE
    assert can_reserve(account, 100) and not can_reserve(account, 101)
    with pytest.raises(InsufficientFunds):
        reserve(account, Totals(), 101)


def test_a_payment_reserves_once() -> None:
    with pytest.raises(LedgerViolation):
        reserve(totals(fund=1000), totals(reserve=10), 10)


def test_release_and_settle_take_what_is_held_and_nothing_else() -> None:
    held = totals(reserve=250)
    assert release(held) == (EntryKind.RELEASE, 250)
    assert settle(held) == (EntryKind.SETTLE, 250)
    assert release(Totals()) is None and settle(Totals()) is None
    assert release(totals(reserve=250, settle=250)) is None  # settled: nothing left to release


def test_return_credits_what_was_settled() -> None:
    assert return_(totals(reserve=250, settle=250)) == (EntryKind.RETURN, 250)
    assert return_(totals(reserve=250)) is None
    assert return_(totals(reserve=250, settle=250, return_=250)) is None


@pytest.mark.parametrize(
    "held",
    [
        {"fund": 5},
        {"release": 5},
        {"reserve": 5, "release": 5, "settle": 5},
        {"reserve": 5, "return_": 5},
    ],
)
def test_per_payment_rule_catches_disorder(held: dict[str, int]) -> None:
    with pytest.raises(LedgerViolation):
        check_payment(totals(**held))


def test_inconsistent_account_is_caught() -> None:
    with pytest.raises(LedgerViolation):
        check_account(totals(fund=10, reserve=20))


def payment(stage: PendingStage | None, status: PaymentStatus = PaymentStatus.PENDING) -> Payment:
    return Payment(
        id="rem_x",
        partner_id="P",
        transaction_reference="R",
        request={},
        request_fingerprint="f",
        channel=Channel.MOBILE_MONEY,
        provider=None,
        status=status,
        pending_stage=stage,
        created=NOW,
        status_timestamp=NOW,
        pending_max_completion_date=NOW + timedelta(hours=1) if stage else None,
        environment="mtf",
    )


def test_due_steps_follow_the_channel_delays() -> None:
    rules = LifecycleRules()
    delays = rules.delays_for(Channel.MOBILE_MONEY)
    processing = payment(PendingStage.PROCESSING)
    assert due_step(processing, NOW + delays.processing - timedelta(seconds=1), rules) is None
    assert due_step(processing, NOW + delays.processing, rules) is Step.TO_ELIGIBLE
    eligible = payment(PendingStage.ELIGIBLE_FOR_SETTLEMENT)
    assert due_step(eligible, NOW + delays.settlement, rules) is Step.SETTLE
    queued = payment(PendingStage.INSUFFICIENT_BALANCE)
    assert due_step(queued, NOW + timedelta(minutes=59), rules) is None
    assert due_step(queued, NOW + timedelta(hours=1), rules) is Step.EXPIRE


def test_sandbox_and_final_payments_have_no_due_step() -> None:
    sandbox = payment(PendingStage.PROCESSING)
    sandbox.environment = "sandbox"
    assert due_step(sandbox, NOW + timedelta(days=9), LifecycleRules()) is None
    done = payment(None, PaymentStatus.SUCCESS)
    assert due_step(done, NOW + timedelta(days=9), LifecycleRules()) is None
    assert next_step(done) is None


@pytest.mark.parametrize(
    ("stage", "step"),
    [
        (PendingStage.INSUFFICIENT_BALANCE, Step.RELEASE),
        (PendingStage.AMBIGUOUS, Step.RELEASE),
        (PendingStage.PROCESSING, Step.TO_ELIGIBLE),
        (PendingStage.ELIGIBLE_FOR_SETTLEMENT, Step.SETTLE),
    ],
)
def test_operator_advance_goes_to_the_next_stage(stage: PendingStage, step: Step) -> None:
    assert next_step(payment(stage)) is step
