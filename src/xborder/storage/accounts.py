"""Settlement accounts, ledger entries and funding queues in SQLAlchemy Core (D16).

Every figure is computed from ``ledger_entries`` with ``SUM ... GROUP BY kind``; nothing is
cached on the account row. The account row is the lock: :meth:`lock` creates it when missing
(``INSERT ... ON CONFLICT DO NOTHING``, so two creators never clash) and then reads it
``FOR UPDATE`` on PostgreSQL. SQLite write transactions start with ``BEGIN IMMEDIATE`` and
are serialised already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from xborder.domain.ledger import Account, EntryKind, Totals, new_account_id
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.ports import QueuedPayment
from xborder.storage.tables import accounts, ledger_entries, payments, queue_entries


class SqlAlchemyAccountRepository:
    """Implements :class:`xborder.services.ports.AccountRepository`."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock(self, partner_id: str, currency: str, now: datetime) -> Account:
        self._connection.execute(_insert_account(self._connection, partner_id, currency, now))
        query = _by_partner(partner_id, currency).with_for_update()
        row = self._connection.execute(query).mappings().one()
        return _account(row)

    def find(self, partner_id: str, currency: str) -> Account | None:
        row = self._connection.execute(_by_partner(partner_id, currency)).mappings().first()
        return _account(row) if row is not None else None

    def get(self, partner_id: str, account_id: str) -> Account | None:
        query = accounts.select().where(
            accounts.c.partner_id == partner_id, accounts.c.account_id == account_id
        )
        row = self._connection.execute(query).mappings().first()
        return _account(row) if row is not None else None

    def all(self, partner_id: str) -> list[Account]:
        query = (
            accounts.select()
            .where(accounts.c.partner_id == partner_id)
            .order_by(accounts.c.created, accounts.c.currency)
        )
        return [_account(row) for row in self._connection.execute(query).mappings()]

    def totals(self, account_id: str, since: datetime | None = None) -> Totals:
        condition = ledger_entries.c.account_id == account_id
        if since is not None:
            condition = sa.and_(condition, ledger_entries.c.created >= since)
        return self._sum(condition)

    def held(self, payment_id: str) -> Totals:
        return self._sum(ledger_entries.c.payment_id == payment_id)

    def add_entry(
        self, account_id: str, kind: EntryKind, amount: int, payment_id: str | None, now: datetime
    ) -> None:
        values = {
            "account_id": account_id,
            "payment_id": payment_id,
            "kind": kind.value,
            "amount": amount,
            "created": now,
        }
        self._connection.execute(ledger_entries.insert().values(**values))
        self._connection.execute(
            accounts.update()
            .where(accounts.c.account_id == account_id)
            .values(version=accounts.c.version + 1)
        )

    def enqueue(self, account_id: str, payment_id: str, amount: int) -> None:
        values = {"account_id": account_id, "payment_id": payment_id, "amount": amount}
        self._connection.execute(queue_entries.insert().values(**values))

    def queue(self, account_id: str) -> list[QueuedPayment]:
        query = (
            sa.select(queue_entries.c.payment_id, queue_entries.c.amount)
            .join(payments, payments.c.id == queue_entries.c.payment_id)
            .where(
                queue_entries.c.account_id == account_id,
                payments.c.status == PaymentStatus.PENDING.value,
                payments.c.pending_stage == PendingStage.INSUFFICIENT_BALANCE.value,
            )
            .order_by(queue_entries.c.id)
        )
        return [QueuedPayment(r.payment_id, r.amount) for r in self._connection.execute(query)]

    def _sum(self, condition: sa.ColumnElement[bool]) -> Totals:
        query = (
            sa.select(ledger_entries.c.kind, sa.func.sum(ledger_entries.c.amount))
            .where(condition)
            .group_by(ledger_entries.c.kind)
        )
        rows = self._connection.execute(query).all()
        return Totals.of((EntryKind(kind), int(total)) for kind, total in rows)


def _by_partner(partner_id: str, currency: str) -> sa.Select[Any]:
    return accounts.select().where(
        accounts.c.partner_id == partner_id, accounts.c.currency == currency
    )


def _insert_account(
    connection: Connection, partner_id: str, currency: str, now: datetime
) -> sa.Executable:
    insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert
    values = {
        "account_id": new_account_id(),
        "partner_id": partner_id,
        "currency": currency,
        "threshold_minor": 0,
        "created": now,
        "version": 0,
    }
    statement: sa.Executable = insert(accounts).values(**values).on_conflict_do_nothing()
    return statement


def _account(row: sa.RowMapping) -> Account:
    return Account(row["account_id"], row["partner_id"], row["currency"], row["threshold_minor"])
