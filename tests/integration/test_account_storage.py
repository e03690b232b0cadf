"""The account repository on the driver cursor, on SQLite and PostgreSQL: a ledger create and
cancel never make a SQLAlchemy Connection, and the figures, rows and account versions they
write are those D16 describes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.databases import truncate_all
from tests.lifecycle_support import bind, request
from xborder.clock import FixedClock
from xborder.domain.ledger import EntryKind, Totals
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services import accounts
from xborder.services.payments import PaymentRules, cancel_payment, create_payment
from xborder.storage.prepared import Cursor
from xborder.storage.tables import accounts as accounts_table
from xborder.storage.tables import ledger_entries, queue_entries
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _kw(db: Engine) -> dict[str, Any]:
    return {"uow_factory": SqlAlchemyUowFactory(db), "clock": FixedClock(NOW),
            "rules": PaymentRules()}  # fmt: skip


def _rows(db: Engine, query: sa.Select[Any]) -> list[Any]:
    with db.connect() as connection:
        return list(connection.execute(query).all())


def test_a_ledger_create_and_cancel_stay_on_the_cursor(db: Engine, connections: list[str]) -> None:
    bind(db, "LEDGER1", "mtf")
    accounts.fund_account("LEDGER1", "USD", "250.00", **_kw(db))
    connections.clear()
    payment = create_payment("LEDGER1", request("LEDGER-REF-1", "100.00"), **_kw(db))
    assert payment.pending_stage is PendingStage.PROCESSING
    cancelled = cancel_payment("LEDGER1", payment.id, **_kw(db))
    assert cancelled.status is PaymentStatus.CANCELLED
    assert connections == []
    entries = _rows(
        db,
        sa.select(ledger_entries.c.kind, ledger_entries.c.amount, ledger_entries.c.payment_id)
        .order_by(ledger_entries.c.id),
    )  # fmt: skip
    assert [tuple(row) for row in entries] == [
        ("FUND", 25000, None),
        ("RESERVE", 10000, payment.id),
        ("RELEASE", 10000, payment.id),
    ]
    assert _rows(db, sa.select(accounts_table.c.version)) == [(3,)]  # one bump per entry


def test_a_queued_create_is_enqueued_and_released_by_funding(
    db: Engine, connections: list[str]
) -> None:
    bind(db, "LEDGER2", "production")
    first = create_payment("LEDGER2", request("QUEUED-1", "30.00"), **_kw(db))
    second = create_payment("LEDGER2", request("QUEUED-2", "20.00"), **_kw(db))
    assert first.pending_stage is second.pending_stage is PendingStage.INSUFFICIENT_BALANCE
    queued = _rows(db, sa.select(queue_entries.c.payment_id, queue_entries.c.amount)
                   .order_by(queue_entries.c.id))  # fmt: skip
    assert [tuple(row) for row in queued] == [(first.id, 3000), (second.id, 2000)]
    cancel_payment("LEDGER2", first.id, **_kw(db))  # nothing held: no RELEASE
    connections.clear()
    sheet = accounts.fund_account("LEDGER2", "USD", "20.00", **_kw(db))[0]
    assert connections == []
    assert (sheet.available, sheet.queued) == (0, 0)  # the second one drew it all
    kinds = _rows(db, sa.select(ledger_entries.c.kind).order_by(ledger_entries.c.id))
    assert [row[0] for row in kinds] == ["FUND", "RESERVE"]


def test_lock_creates_the_account_once_and_totals_filter_by_time(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    with uow_factory() as uow:
        account = uow.accounts.lock("LEDGER3", "EUR", NOW)
        assert uow.accounts.lock("LEDGER3", "EUR", NOW + timedelta(hours=1)) == account
        assert uow.accounts.find("LEDGER3", "EUR") == account
        assert uow.accounts.get("LEDGER3", account.account_id) == account
        assert uow.accounts.get("OTHER", account.account_id) is None
        assert uow.accounts.find("LEDGER3", "USD") is None
        uow.accounts.add_entry(account.account_id, EntryKind.FUND, 500, None, NOW)
        later = NOW + timedelta(days=1)
        uow.accounts.add_entry(account.account_id, EntryKind.FUND, 700, None, later)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert uow.accounts.totals(account.account_id) == Totals.of([(EntryKind.FUND, 1200)])
        since = uow.accounts.totals(account.account_id, since=later)
        assert since == Totals.of([(EntryKind.FUND, 700)])
        assert uow.accounts.totals("acct_none") == Totals.of([])
        assert uow.accounts.held("no-such-payment") == Totals.of([])
        assert uow.accounts.queue(account.account_id) == []
        assert uow.accounts.all("LEDGER3") == [account]


def test_locking_an_open_account_runs_one_statement(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    with uow_factory() as uow:
        opened = uow.accounts.lock("LEDGER4", "USD", NOW)
        uow.commit()
    calls: list[str] = []
    for name in ("first", "rowcount"):
        original = getattr(Cursor, name)

        def spy(self: Cursor, *args: Any, _name: str = name, _original: Any = original) -> Any:
            calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(Cursor, name, spy)
    with uow_factory() as uow:
        assert uow.accounts.lock("LEDGER4", "USD", NOW) == opened
    assert calls == ["first"]  # the SELECT ... FOR UPDATE; no insert to try


@pytest.mark.postgres
def test_two_first_uses_at_once_open_one_account(postgres_session_engine: Engine) -> None:
    """The second opener's insert waits for the first's commit, then reads its account."""
    truncate_all(postgres_session_engine)
    uow_factory = SqlAlchemyUowFactory(postgres_session_engine)
    found: list[Any] = []

    def second() -> None:
        with uow_factory() as uow:
            found.append(uow.accounts.lock("LEDGER5", "USD", NOW))
            uow.commit()

    with uow_factory() as uow:
        first = uow.accounts.lock("LEDGER5", "USD", NOW)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.2)  # blocked on the first's uncommitted account (or not yet started)
        uow.commit()
    thread.join(10)
    assert found == [first]
    assert len(_rows(postgres_session_engine, sa.select(accounts_table.c.account_id))) == 1
