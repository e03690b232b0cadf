"""A stateful property test of the lifecycle and the ledger (D13-D17).

Random sequences of create, fund, cancel, advance, settle, reject, return and clock moves,
on sandbox, mtf and production partners and on several currencies. After every step:

* every payment's outbox events form one chain of legal transitions (TRANSITIONS, and a
  pending stage that really changed), ending at the payment's current state: exactly one
  event per status change;
* each account's entries satisfy the ledger invariants; each payment's entries match its
  state (reserved while processing, settled once SUCCESS, credited back once RETURNED,
  nothing held once CANCELLED/REJECTED, nothing at all while queued or in the sandbox);
* balances are never negative;
* the Balance API reports exactly the figures computed from the entries and the payments.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.databases import truncate_all
from tests.fakes import OpenGate
from tests.lifecycle_support import bind, request
from xborder.api.app import create_app
from xborder.clock import FixedClock
from xborder.config import Settings
from xborder.domain.errors import ActionRefused, CancellationNotPermitted
from xborder.domain.ledger import (
    EntryKind,
    Totals,
    check_account,
    check_payment,
    from_minor,
    to_minor,
)
from xborder.domain.money import Money
from xborder.domain.states import TRANSITIONS, PaymentStatus, PendingStage
from xborder.services import accounts, operator, scheduler
from xborder.services.payments import PaymentRules, cancel_payment, create_payment
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.tables import ledger_entries, outbox, payments
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

START = datetime(2026, 11, 26, 12, tzinfo=UTC)
PARTNERS = {"P_MTF": "mtf", "P_PROD": "production", "P_SBX": None}
LEDGER_PARTNERS = ("P_MTF", "P_PROD")
CURRENCIES = ("USD", "EUR", "JPY")
RECIPIENTS: tuple[dict[str, Any], ...] = (
    {},  # mobile money
    {"recipient_uri": "ewallet:mary;sp=cashco", "additional": [("7260", "CASH")]},
    {"recipient_uri": "iban:CH9300762011623852957"},
)
REFUSALS = (ActionRefused, CancellationNotPermitted)


class Database:
    """Where the machine runs: a fresh SQLite copy per example, or the truncated PostgreSQL."""

    template: Path | None = None
    postgres: Engine | None = None

    @classmethod
    def fresh(cls) -> tuple[Engine, bool]:
        if cls.postgres is not None:
            truncate_all(cls.postgres)
            return cls.postgres, False
        if cls.template is None:
            cls.template = Path(tempfile.mkdtemp()) / "template.db"
            engine = make_engine(f"sqlite:///{cls.template}")
            upgrade(engine)
            engine.dispose()
        path = Path(tempfile.mkdtemp()) / "machine.db"
        shutil.copyfile(cls.template, path)
        return make_engine(f"sqlite:///{path}"), True


class LifecycleMachine(RuleBasedStateMachine):
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.engine, self.owned = Database.fresh()
        for partner, environment in PARTNERS.items():
            if environment is not None:
                bind(self.engine, partner, environment)
        self.clock = FixedClock(START)
        self.payment_rules = PaymentRules()
        self.uow = SqlAlchemyUowFactory(self.engine)
        app_settings = Settings(access_log=False, auth=False, scheduler=False)
        app = create_app(app_settings, engine=self.engine, clock=self.clock, gate=OpenGate())
        self.client = TestClient(app)
        self.client.__enter__()
        self.created: dict[str, tuple[str, str | None]] = {}  # id -> (status, stage) at birth
        self.count = 0

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)
        if self.owned:
            self.engine.dispose()

    def kw(self) -> dict[str, Any]:
        return {"uow_factory": self.uow, "clock": self.clock, "rules": self.payment_rules}

    @rule(
        target=payments,
        partner=st.sampled_from(sorted(PARTNERS)),
        currency=st.sampled_from(CURRENCIES),
        units=st.integers(min_value=2, max_value=400),
        recipient=st.sampled_from(range(len(RECIPIENTS))),
    )
    def create(self, partner: str, currency: str, units: int, recipient: int) -> tuple[str, str]:
        self.count += 1
        amount = str(units) if currency == "JPY" else f"{units}.00"
        parsed = request(f"PROP-{self.count}", amount, currency, **RECIPIENTS[recipient])
        payment = create_payment(partner, parsed, **self.kw())
        stage = payment.pending_stage.value if payment.pending_stage else None
        self.created[payment.id] = (payment.status.value, stage)
        return partner, payment.id

    @rule(
        partner=st.sampled_from(LEDGER_PARTNERS),
        currency=st.sampled_from(CURRENCIES),
        units=st.integers(min_value=1, max_value=500),
    )
    def fund(self, partner: str, currency: str, units: int) -> None:
        amount = str(units) if currency == "JPY" else f"{units}.00"
        accounts.fund_account(partner, currency, amount, **self.kw())

    @rule(payment=payments)
    def cancel(self, payment: tuple[str, str]) -> None:
        try:
            cancel_payment(*payment, **self.kw())
        except REFUSALS:
            pass

    @rule(payment=payments, action=st.sampled_from(["advance", "settle"]))
    def operate(self, payment: tuple[str, str], action: str) -> None:
        try:
            getattr(operator, f"{action}_payment")(*payment, **self.kw())
        except REFUSALS:
            pass

    @rule(
        payment=payments,
        action=st.sampled_from(["reject", "return"]),
        code=st.sampled_from(["130101", "130190", "130134"]),
    )
    def decline(self, payment: tuple[str, str], action: str, code: str) -> None:
        try:
            getattr(operator, f"{action}_payment")(*payment, code, **self.kw())
        except REFUSALS:
            pass

    @rule(minutes=st.integers(min_value=1, max_value=30 * 60))
    def move_clock(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        scheduler.run_due_steps(**self.kw())

    @invariant()
    def transitions_are_legal_and_each_has_one_event(self) -> None:
        rows = self._rows(sa.select(payments.c.id, payments.c.status, payments.c.pending_stage))
        events: dict[str, list[Any]] = {}
        for event in self._rows(outbox.select().order_by(outbox.c.id)):
            events.setdefault(event.payment_id, []).append(event)
        for row in rows:
            status, stage = self.created[row.id]
            for event in events.get(row.id, []):
                assert event.previous_status == status
                assert PaymentStatus(event.status) in TRANSITIONS[PaymentStatus(status)]
                assert (event.status, event.pending_stage) != (status, stage)
                status, stage = event.status, event.pending_stage
            assert (status, stage) == (row.status, row.pending_stage)

    @invariant()
    def ledger_matches_every_payment(self) -> None:
        held: dict[str, list[tuple[EntryKind, int]]] = {}
        for entry in self._rows(ledger_entries.select()):
            if entry.payment_id is not None:
                held.setdefault(entry.payment_id, []).append((EntryKind(entry.kind), entry.amount))
        for row in self._rows(payments.select()):
            totals = Totals.of(held.get(row.id, []))
            check_payment(totals)
            if row.environment == "sandbox" or row.pending_stage == "InsufficientBalance":
                assert totals == Totals()
            elif row.status == "PENDING":
                assert totals.reserved > 0 and totals.settle == 0
            elif row.status == "SUCCESS":
                assert totals.reserved == 0 and totals.settle == totals.reserve > 0
            elif row.status == "RETURNED":
                assert totals.return_ == totals.settle > 0
            elif totals.reserve:  # CANCELLED or REJECTED after holding funds
                assert totals.reserved == 0 and totals.settle == 0

    @invariant()
    def balance_api_agrees_with_the_ledger(self) -> None:
        for partner in LEDGER_PARTNERS:
            answer = self.client.get(
                f"/send/partners/{partner}/crossborder/accounts?include_balance=true"
            )
            assert answer.status_code == 200
            for account in answer.json():
                details = account["balanceDetails"]
                currency = details["availableBalance"]["currency"]
                expected = self._expected(account["accountId"], partner, currency)
                for name, minor in expected.items():
                    assert details[name] == {
                        "amount": from_minor(minor, currency).to_wire(),
                        "currency": currency,
                    }, name

    def _expected(self, account_id: str, partner: str, currency: str) -> dict[str, int]:
        query = sa.select(ledger_entries.c.kind, ledger_entries.c.amount).where(
            ledger_entries.c.account_id == account_id
        )
        totals = Totals.of((EntryKind(k), a) for k, a in self._rows(query))
        check_account(totals)
        assert totals.available >= 0 and totals.reserved >= 0
        queued = sum(
            _settlement(row.quote_json)[1]
            for row in self._rows(
                payments.select().where(
                    payments.c.partner_id == partner,
                    payments.c.status == "PENDING",
                    payments.c.pending_stage == PendingStage.INSUFFICIENT_BALANCE.value,
                )
            )
            if _settlement(row.quote_json)[0] == currency
        )
        return {
            "availableBalance": totals.available,
            "reservedBalance": totals.reserved,
            "settlementAccountBalance": totals.funded - totals.settled,
            "queuedBalance": queued,
        }

    def _rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(query))


def _settlement(quote_json: str) -> tuple[str, int]:
    """A stored payment's settlement currency and minor amount, read from its row."""
    amount, currency = json.loads(quote_json)["settlement"]
    return currency, to_minor(Money.of(amount, currency))


@pytest.fixture
def machine_database(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgres":
        Database.postgres = request.getfixturevalue("postgres_session_engine")
    try:
        yield request.param
    finally:
        Database.postgres = None


@pytest.mark.slow
@pytest.mark.parametrize(
    "machine_database",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_lifecycle_state_machine(machine_database: str) -> None:
    examples = 25 if machine_database == "sqlite" else 8
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
