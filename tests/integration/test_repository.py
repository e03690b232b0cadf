"""The payment repository and unit of work against real SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from xborder.clock import FixedClock
from xborder.domain.channels import Channel
from xborder.domain.errors import CancellationNotPermitted, Rejection
from xborder.domain.model import CancelPolicy, Payment, new_payment_id
from xborder.domain.money import Money
from xborder.domain.pricing import Quote
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.errors import ConflictError, DuplicateReference
from xborder.services.payments import PaymentRules, cancel_payment
from xborder.services.unit_of_work import AbstractUnitOfWork
from xborder.storage import payments as storage_payments
from xborder.storage.prepared import Cursor, Prepared
from xborder.storage.tables import metadata, outbox
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NOW = datetime(2026, 11, 26, 12, 30, 15, 123456, tzinfo=UTC)


def make_payment(reference: str = "REF-1", **changes: object) -> Payment:
    values: dict[str, object] = {
        "id": new_payment_id(),
        "partner_id": "PARTNER",
        "transaction_reference": reference,
        "request": {"transaction_reference": reference, "payment_type": "P2P"},
        "request_fingerprint": "f" * 64,
        "channel": Channel.MOBILE_MONEY,
        "provider": "mpesa",
        "status": PaymentStatus.PENDING,
        "pending_stage": PendingStage.PROCESSING,
        "created": NOW,
        "status_timestamp": NOW,
        "pending_max_completion_date": NOW + timedelta(days=5),
        "quote": Quote(
            fx_rate=Decimal("129.0"),
            fees=Money.of("1.00", "USD"),
            charged=Money.of("100.00", "USD"),
            credited=Money.of("12771.00", "KES"),
            principal=Money.of("99.00", "USD"),
            settlement=Money.of("100.00", "USD"),
        ),
    }
    values.update(changes)
    return Payment(**values)  # type: ignore[arg-type]


def stored(uow_factory: SqlAlchemyUowFactory, payment: Payment) -> Payment:
    """``payment``, added and committed."""
    with uow_factory() as uow:
        uow.payments.add(payment)
        uow.commit()
    return payment


def cancelled(uow: AbstractUnitOfWork, payment_id: str, when: datetime = NOW) -> Payment:
    """The stored payment, loaded in ``uow`` and cancelled (not saved yet)."""
    payment = uow.payments.get("PARTNER", payment_id)
    assert payment is not None
    payment.cancel(when, CancelPolicy())
    return payment


def test_round_trip_keeps_every_field(db: Engine) -> None:
    payment = make_payment(rejection=Rejection("130118", "DECLINE", "Too much", "src"))
    uow_factory = SqlAlchemyUowFactory(db)
    with uow_factory() as uow:
        uow.payments.add(payment)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        by_id = uow.payments.get("PARTNER", payment.id)
        by_ref = uow.payments.get_by_reference("PARTNER", "REF-1")
        assert uow.payments.get("OTHER", payment.id) is None
    assert by_id is not None and by_ref is not None
    for field in (
        "id",
        "status",
        "pending_stage",
        "channel",
        "provider",
        "created",
        "quote",
        "status_timestamp",
        "pending_max_completion_date",
        "request",
        "rejection",
    ):
        assert getattr(by_id, field) == getattr(payment, field), field
    assert by_id.created.tzinfo is not None
    assert by_ref.id == payment.id
    assert by_id.version == 1


def test_the_request_document_is_parsed_only_when_read(db: Engine) -> None:
    """Issue 12: a cancel never reads the stored request document, so loading a payment
    does not parse it; read, it is the document that was stored."""
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment("LAZY-1"))
    with uow_factory() as uow:
        loaded = uow.payments.get("PARTNER", payment.id)
        assert loaded is not None
        loaded.cancel(loaded.status_timestamp, CancelPolicy())
        uow.payments.save(loaded)
        uow.commit()
    assert loaded.request._document is None  # type: ignore[attr-defined]
    assert dict(loaded.request) == payment.request and len(loaded.request) > 0
    assert loaded.request.get("no such field") is None


def _stored_quote(db: Engine, payment_id: str) -> str:
    with db.connect() as connection:
        query = sa.text("SELECT quote_json FROM payments WHERE id = :id")
        return str(connection.execute(query, {"id": payment_id}).scalar_one())


def test_a_cancel_never_decodes_the_stored_quote(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: the quote is decoded on its first read; a cancel never reads it, and its
    save leaves the stored quote as it was."""
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment("LAZY-Q"))
    before = _stored_quote(db, payment.id)
    decoded: list[str | None] = []
    original = storage_payments._quote

    def counting(text: str | None) -> Quote | None:
        decoded.append(text)
        return original(text)

    monkeypatch.setattr(storage_payments, "_quote", counting)
    with uow_factory() as uow:
        uow.payments.save(cancelled(uow, payment.id))
        uow.commit()
    assert decoded == []
    assert _stored_quote(db, payment.id) == before
    with uow_factory(readonly=True) as uow:
        loaded = uow.payments.get("PARTNER", payment.id)
    assert loaded is not None and loaded.quote == payment.quote and decoded == [before]


def test_a_quote_set_on_a_loaded_payment_is_saved(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment("LAZY-SET"))
    fee = Money.of("2.50", "USD")
    with uow_factory() as uow:
        loaded = uow.payments.get("PARTNER", payment.id)
        assert loaded is not None and loaded.quote is not None
        loaded.quote = dataclasses.replace(loaded.quote, fees=fee)
        uow.payments.save(loaded)
        uow.commit()
    with uow_factory(readonly=True) as uow:
        again = uow.payments.get("PARTNER", payment.id)
    assert again is not None and again.quote is not None and again.quote.fees == fee
    copy = dataclasses.replace(again, events=[])  # as a use case copies its answer
    assert copy.quote == again.quote and copy.id == again.id


def test_duplicate_reference_is_refused(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    with uow_factory() as uow:
        uow.payments.add(make_payment())
        uow.commit()
    with uow_factory() as uow, pytest.raises(DuplicateReference):
        uow.payments.add(make_payment())
    with uow_factory() as uow:  # another partner may use the same reference
        uow.payments.add(make_payment(partner_id="OTHER"))
        uow.commit()


def test_stale_save_is_refused_and_nothing_is_written(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment())
    with uow_factory() as first:
        first.payments.save(cancelled(first, payment.id))
        first.commit()
    stale = payment  # still version 1
    stale.cancel(NOW, CancelPolicy())
    with uow_factory() as uow, pytest.raises(ConflictError):
        uow.payments.save(stale)
    with db.connect() as connection:
        events = connection.execute(sa.select(outbox.c.status)).scalars().all()
    assert events == ["CANCELLED"]


def test_a_stale_save_in_a_committed_transaction_leaves_no_event(db: Engine) -> None:
    """The event exists iff its change was made (D14), also when the transaction that tried
    goes on and commits: on PostgreSQL the update and its event are one statement."""
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment())
    stale = stored(uow_factory, make_payment("REF-2"))
    with uow_factory() as uow:
        uow.payments.save(cancelled(uow, stale.id))
        uow.commit()
    stale.cancel(NOW, CancelPolicy())  # still version 1
    with uow_factory() as uow:
        with pytest.raises(ConflictError):
            uow.payments.save(stale)
        uow.payments.save(cancelled(uow, payment.id, NOW + timedelta(seconds=1)))
        uow.commit()
    with db.connect() as connection:
        rows = connection.execute(sa.select(outbox.c.payment_id).order_by(outbox.c.id)).all()
    assert [row.payment_id for row in rows] == [stale.id, payment.id]


def test_a_saved_change_writes_its_event_with_every_field(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment())
    with uow_factory() as uow:
        loaded = cancelled(uow, payment.id, NOW + timedelta(seconds=2))
        uow.payments.save(loaded)
        assert loaded.events == [] and loaded.version == 2
        uow.commit()
    with db.connect() as connection:
        row = connection.execute(sa.select(outbox)).one()
    assert row.payment_id == payment.id
    assert (row.partner_id, row.transaction_reference) == ("PARTNER", "REF-1")
    assert (row.previous_status, row.status) == ("PENDING", "CANCELLED")
    assert row.pending_stage is None and row.error_code is None and row.error_message is None
    occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
    assert occurred == NOW + timedelta(seconds=2)
    assert len(row.event_ref) == 36 and row.delivered_at is None


def test_on_postgresql_a_change_and_its_event_are_one_statement(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment())
    sent: list[Prepared] = []
    rowcount = Cursor.rowcount  # a save's statements (a driver's cursor or libpq's) run here

    def spy(cursor: Cursor, prepared: Prepared, values: Any) -> int:
        sent.append(prepared)
        return rowcount(cursor, prepared, values)

    with uow_factory() as uow:
        loaded = cancelled(uow, payment.id)
        monkeypatch.setattr(Cursor, "rowcount", spy)
        uow.payments.save(loaded)
        uow.commit()
    assert len(sent) == (1 if db.dialect.name == "postgresql" else 2)


def test_rollback_leaves_no_trace(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment())
    with uow_factory() as uow:
        loaded = uow.payments.get("PARTNER", payment.id)
        assert loaded is not None
        loaded.cancel(NOW, CancelPolicy())
        uow.payments.save(loaded)
        # leaving without commit
    with uow_factory(readonly=True) as uow:
        again = uow.payments.get("PARTNER", payment.id)
    assert again is not None and again.status is PaymentStatus.PENDING
    with db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 0


def test_check_constraint_guards_pending_stage(db: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    broken = make_payment(status=PaymentStatus.SUCCESS)  # SUCCESS with a pending stage
    with uow_factory() as uow, pytest.raises(IntegrityError):
        uow.payments.add(broken)


def test_migrations_match_table_definitions(db: Engine) -> None:
    with db.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


@pytest.mark.parametrize("racers", [16])
def test_concurrent_cancels_have_one_winner(db: Engine, racers: int) -> None:
    uow_factory = SqlAlchemyUowFactory(db)
    payment = stored(uow_factory, make_payment())
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []
    rules = PaymentRules()
    clock = FixedClock(NOW)

    def race() -> None:
        barrier.wait()
        try:
            cancel_payment("PARTNER", payment.id, uow_factory=uow_factory, clock=clock, rules=rules)
            outcomes.append("won")
        except CancellationNotPermitted:
            outcomes.append("refused")

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * (racers - 1) + ["won"]
    with db.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 1
