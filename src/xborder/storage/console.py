"""Read-only queries of the web console (issue 14) that no use case needs: payments searched
and filtered across partners, a payment's ledger entries, the partners that have accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xborder.storage.tables import accounts, ledger_entries, payments

MAX_ROWS = 200


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """A payment as the console's list shows it."""

    id: str
    partner_id: str
    transaction_reference: str
    environment: str
    status: str
    pending_stage: str | None
    channel: str
    created: datetime
    status_timestamp: datetime


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger entry of a payment, with its account's currency (amount in minor units)."""

    id: int
    account_id: str
    currency: str
    kind: str
    amount: int
    created: datetime


@dataclass(frozen=True, slots=True)
class PaymentSearch:
    """The console's payment filters; None or empty matches anything. ``text`` matches a
    payment id or a transaction reference exactly."""

    text: str | None = None
    partner_id: str | None = None
    status: str | None = None
    stage: str | None = None


def find_payments(engine: Engine, search: PaymentSearch, limit: int = MAX_ROWS) -> list[PaymentRow]:
    """Newest first, at most ``limit``."""
    columns = [payments.c[name] for name in PaymentRow.__dataclass_fields__]
    query = sa.select(*columns).order_by(payments.c.created.desc(), payments.c.id).limit(limit)
    if search.text:
        text = search.text.strip()
        query = query.where(sa.or_(payments.c.id == text, payments.c.transaction_reference == text))
    if search.partner_id:
        query = query.where(payments.c.partner_id == search.partner_id)
    if search.status:
        query = query.where(payments.c.status == search.status)
    if search.stage:
        query = query.where(payments.c.pending_stage == search.stage)
    with engine.connect() as connection:
        return [PaymentRow(**row) for row in connection.execute(query).mappings()]


def payment_ledger(engine: Engine, payment_id: str) -> list[LedgerRow]:
    """The payment's ledger entries, oldest first."""
    query = (
        sa.select(
            ledger_entries.c.id,
            ledger_entries.c.account_id,
            accounts.c.currency,
            ledger_entries.c.kind,
            ledger_entries.c.amount,
            ledger_entries.c.created,
        )
        .join(accounts, accounts.c.account_id == ledger_entries.c.account_id)
        .where(ledger_entries.c.payment_id == payment_id)
        .order_by(ledger_entries.c.id)
    )
    with engine.connect() as connection:
        return [LedgerRow(**row) for row in connection.execute(query).mappings()]


def partners_with_accounts(engine: Engine) -> list[str]:
    """Every partner id that has a settlement account, sorted."""
    query = sa.select(accounts.c.partner_id).distinct().order_by(accounts.c.partner_id)
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(query)]
