"""Settlement accounts, ledger entries and funding queues in SQLAlchemy Core (D16).

Every figure is computed from ``ledger_entries`` with ``SUM ... GROUP BY kind``; nothing is
cached on the account row. The account row is the lock: :meth:`lock` creates it when missing
(``INSERT ... ON CONFLICT DO NOTHING``, so two creators never clash) and then reads it
``FOR UPDATE`` on PostgreSQL. SQLite write transactions start with ``BEGIN IMMEDIATE`` and
are serialised already.

Creating and cancelling a ledger payment runs the lock, queue, totals, held and entry
statements, so those are prepared once and run on the driver cursor
(:mod:`xborder.storage.prepared`); listing a partner's accounts goes through the Connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from xborder.domain.ledger import Account, EntryKind, Totals, new_account_id
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.ports import QueuedPayment
from xborder.storage.prepared import Cursor, Prepared, insert_or_ignore
from xborder.storage.tables import accounts, ledger_entries, payments, queue_entries

_ACCOUNT_COLUMNS = ("account_id", "partner_id", "currency", "threshold_minor", "created", "version")
_INSERT_ACCOUNT = insert_or_ignore(accounts, column_keys=_ACCOUNT_COLUMNS)
_BY_PARTNER_CONDITION = sa.and_(
    accounts.c.partner_id == sa.bindparam("partner"),
    accounts.c.currency == sa.bindparam("currency"),
)
_BY_PARTNER = Prepared(accounts.select().where(_BY_PARTNER_CONDITION))
_LOCK = Prepared(accounts.select().where(_BY_PARTNER_CONDITION).with_for_update())
_BY_ID = Prepared(
    accounts.select().where(
        accounts.c.partner_id == sa.bindparam("partner"),
        accounts.c.account_id == sa.bindparam("account"),
    )
)
_ENTRY_COLUMNS = ("account_id", "payment_id", "kind", "amount", "created")
_INSERT_ENTRY = Prepared(ledger_entries.insert(), column_keys=_ENTRY_COLUMNS)
_BUMP_VERSION = Prepared(
    accounts.update()
    .where(accounts.c.account_id == sa.bindparam("account"))
    .values(version=accounts.c.version + sa.literal_column("1", sa.Integer()))
)
_ENQUEUE = Prepared(queue_entries.insert(), column_keys=("account_id", "payment_id", "amount"))
_QUEUE = Prepared(
    sa.select(queue_entries.c.payment_id, queue_entries.c.amount)
    .join(payments, payments.c.id == queue_entries.c.payment_id)
    .where(
        queue_entries.c.account_id == sa.bindparam("account"),
        payments.c.status == sa.bindparam("status"),
        payments.c.pending_stage == sa.bindparam("stage"),
    )
    .order_by(queue_entries.c.id)
)
_QUEUED = {
    "status": PaymentStatus.PENDING.value,
    "stage": PendingStage.INSUFFICIENT_BALANCE.value,
}


def _sum(condition: sa.ColumnElement[bool]) -> Prepared:
    return Prepared(
        sa.select(ledger_entries.c.kind, sa.func.sum(ledger_entries.c.amount).label("total"))
        .where(condition)
        .group_by(ledger_entries.c.kind)
    )


_TOTALS = _sum(ledger_entries.c.account_id == sa.bindparam("account"))
_TOTALS_SINCE = _sum(
    sa.and_(
        ledger_entries.c.account_id == sa.bindparam("account"),
        ledger_entries.c.created >= sa.bindparam("since", type_=ledger_entries.c.created.type),
    )
)
_HELD = _sum(ledger_entries.c.payment_id == sa.bindparam("payment"))


class SqlAlchemyAccountRepository:
    """Implements :class:`xborder.services.ports.AccountRepository`."""

    def __init__(self, connection: Callable[[], Connection], cursor: Cursor) -> None:
        self._connection = connection  # made on first use: the hot methods need only the cursor
        self._cursor = cursor

    def lock(self, partner_id: str, currency: str, now: datetime) -> Account:
        key = {"partner": partner_id, "currency": currency}
        row = self._cursor.first(_LOCK, key)
        if row is None:  # the partner's first use of the currency: open its account
            values = {
                "account_id": new_account_id(),
                "partner_id": partner_id,
                "currency": currency,
                "threshold_minor": 0,
                "created": now,
                "version": 0,
            }
            # a concurrent opener's row wins (its insert is waited for, then nothing): read
            # again, in a statement that sees it
            self._cursor.rowcount(_INSERT_ACCOUNT, values)
            row = self._cursor.first(_LOCK, key)
            if row is None:  # as Result.one(): the insert above guarantees the row
                raise sa.exc.NoResultFound("No row was found when one was required")
        return _account(row)

    def find(self, partner_id: str, currency: str) -> Account | None:
        row = self._cursor.first(_BY_PARTNER, {"partner": partner_id, "currency": currency})
        return _account(row) if row is not None else None

    def get(self, partner_id: str, account_id: str) -> Account | None:
        row = self._cursor.first(_BY_ID, {"partner": partner_id, "account": account_id})
        return _account(row) if row is not None else None

    def all(self, partner_id: str) -> list[Account]:
        query = (
            accounts.select()
            .where(accounts.c.partner_id == partner_id)
            .order_by(accounts.c.created, accounts.c.currency)
        )
        return [_account(row) for row in self._connection().execute(query).mappings()]

    def totals(self, account_id: str, since: datetime | None = None) -> Totals:
        if since is None:
            return self._totals(_TOTALS, {"account": account_id})
        return self._totals(_TOTALS_SINCE, {"account": account_id, "since": since})

    def held(self, payment_id: str) -> Totals:
        return self._totals(_HELD, {"payment": payment_id})

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
        self._cursor.rowcount(_INSERT_ENTRY, values)
        self._cursor.rowcount(_BUMP_VERSION, {"account": account_id})

    def enqueue(self, account_id: str, payment_id: str, amount: int) -> None:
        values = {"account_id": account_id, "payment_id": payment_id, "amount": amount}
        self._cursor.rowcount(_ENQUEUE, values)

    def queue(self, account_id: str) -> list[QueuedPayment]:
        rows = self._cursor.all(_QUEUE, {**_QUEUED, "account": account_id})
        return [QueuedPayment(row["payment_id"], row["amount"]) for row in rows]

    def _totals(self, prepared: Prepared, values: Mapping[str, Any]) -> Totals:
        rows = self._cursor.all(prepared, values)
        return Totals.of((EntryKind(row["kind"]), int(row["total"])) for row in rows)


def _account(row: Mapping[str, Any] | sa.RowMapping) -> Account:
    return Account(row["account_id"], row["partner_id"], row["currency"], row["threshold_minor"])
