"""Invariants of a stored xborder database, audited after concurrent or interrupted load.

Read straight from the tables in one transaction, restated from the documents rather than
from the code under test:

* every payment is in exactly one legal state: a known status, a pending stage exactly when
  PENDING (D5), no completion date on a final payment;
* each status change produced exactly one outbox event (D14): the events of a payment form
  one unbroken chain of moves allowed by the transition table, ending at the stored state,
  and their number equals the stored version minus one (every stored change bumps the
  version once, independently of the outbox);
* the ledger balances (D16): per payment the entries follow the reservation rule and match
  the status (nothing held while queued, the settlement amount held while processing, held
  amounts released or settled once final); per account available, reserved and settled are
  never negative; a queued payment has its queue entry.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from xborder.domain.ledger import EntryKind, Totals, check_account, check_payment, to_minor
from xborder.domain.money import Money
from xborder.domain.states import TRANSITIONS, PaymentStatus, PendingStage
from xborder.errors import XborderError
from xborder.storage.engine import READONLY
from xborder.storage.tables import accounts, ledger_entries, outbox, payments, queue_entries

HOLDING_STAGES = {"Processing", "EligibleForSettlement"}


@dataclass
class Snapshot:
    """Every row the audit needs, read in one transaction."""

    payments: dict[str, sa.RowMapping]
    events: dict[str, list[sa.RowMapping]] = field(default_factory=lambda: defaultdict(list))
    held: dict[str, list[tuple[EntryKind, int]]] = field(default_factory=lambda: defaultdict(list))
    by_account: dict[str, list[tuple[EntryKind, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    queued: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, sa.RowMapping] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)

    def totals(self, payment_id: str) -> Totals:
        return Totals.of(self.held.get(payment_id, []))

    def account_totals(self, account_id: str) -> Totals:
        return Totals.of(self.by_account.get(account_id, []))

    def funded(self, partner_id: str) -> int:
        """FUND entries of the partner's accounts, in minor units."""
        ids = [a for a, row in self.accounts.items() if row["partner_id"] == partner_id]
        return sum(self.account_totals(a).fund for a in ids)


def snapshot(engine: Engine) -> Snapshot:
    """Read payments, outbox, ledger, queue and accounts in one consistent transaction."""
    sqlite = engine.dialect.name == "sqlite"
    options = {READONLY: True} if sqlite else {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        return _read(connection)


def _read(connection: Connection) -> Snapshot:
    rows = connection.execute(payments.select()).mappings()
    snap = Snapshot({row["id"]: row for row in rows})
    for event in connection.execute(outbox.select().order_by(outbox.c.id)).mappings():
        if event["payment_id"] not in snap.payments:
            snap.orphans.append(f"outbox event {event['id']} of unknown payment")
        snap.events[event["payment_id"]].append(event)
    for entry in connection.execute(ledger_entries.select()).mappings():
        pair = (EntryKind(entry["kind"]), int(entry["amount"]))
        snap.by_account[entry["account_id"]].append(pair)
        if entry["payment_id"] is not None:
            snap.held[entry["payment_id"]].append(pair)
    for queued in connection.execute(queue_entries.select()).mappings():
        snap.queued[queued["payment_id"]] = int(queued["amount"])
    snap.accounts = {r["account_id"]: r for r in connection.execute(accounts.select()).mappings()}
    return snap


def problems(snap: Snapshot) -> list[str]:
    """Every violated invariant, one line each (empty when the database is sound)."""
    found = list(snap.orphans)
    for payment_id, row in snap.payments.items():
        events = snap.events.get(payment_id, [])
        found += [f"{payment_id}: {p}" for p in _state_problems(row)]
        found += [f"{payment_id}: {p}" for p in chain_problems(row, events)]
        found += [f"{payment_id}: {p}" for p in _ledger_problems(row, snap)]
    for account_id in snap.accounts:
        try:
            check_account(snap.account_totals(account_id))
        except XborderError as exc:
            found.append(f"account {account_id}: {exc}")
    return found


def _state_problems(row: sa.RowMapping) -> Iterator[str]:
    status, stage = row["status"], row["pending_stage"]
    if status not in PaymentStatus.__members__:
        yield f"unknown status {status!r}"
    if (status == "PENDING") != (stage is not None):
        yield f"status {status} with pending_stage {stage!r}"
    if stage is not None and stage not in {s.value for s in PendingStage}:
        yield f"unknown pending stage {stage!r}"
    if status != "PENDING" and row["pending_max_completion_date"] is not None:
        yield f"final status {status} keeps pending_max_completion_date"


def chain_problems(row: sa.RowMapping, events: list[sa.RowMapping]) -> Iterator[str]:
    """The payment's events are one chain of legal moves ending at the stored state."""
    if row["version"] != 1 + len(events):
        yield f"version {row['version']} but {len(events)} outbox events (one per change)"
    previous: Any = None
    for event in events:
        moved = (event["previous_status"], event["status"])
        if PaymentStatus(moved[1]) not in TRANSITIONS[PaymentStatus(moved[0])]:
            yield f"outbox event {event['id']}: illegal move {moved[0]} -> {moved[1]}"
        if previous is not None and event["previous_status"] != previous["status"]:
            yield f"outbox event {event['id']}: chain broken after {previous['status']}"
        if previous is not None and moved == ("PENDING", "PENDING"):
            if event["pending_stage"] == previous["pending_stage"]:
                yield f"outbox event {event['id']}: stage change to the same stage"
        previous = event
    if previous is not None:
        last = (previous["status"], previous["pending_stage"])
        if last != (row["status"], row["pending_stage"]):
            yield f"last outbox event says {last}, stored {row['status']}/{row['pending_stage']}"


def settlement_minor(row: sa.RowMapping) -> int | None:
    """The payment's settlement amount in minor units, or None when unpriced."""
    if row["quote_json"] is None:
        return None
    amount, currency = json.loads(row["quote_json"])["settlement"]
    return to_minor(Money(Decimal(amount), currency))


def _ledger_problems(row: sa.RowMapping, snap: Snapshot) -> Iterator[str]:
    held = snap.totals(row["id"])
    try:
        check_payment(held)
    except XborderError as exc:
        yield str(exc)
    status, stage = row["status"], row["pending_stage"]
    if row["environment"] == "sandbox" or settlement_minor(row) is None:
        if held != Totals():
            yield f"{row['environment']} or unpriced payment has ledger entries {held}"
        return
    amount = settlement_minor(row)
    if stage == "InsufficientBalance":
        if held != Totals() or snap.queued.get(row["id"]) != amount:
            yield f"queued payment holds {held}, queue entry {snap.queued.get(row['id'])}"
    elif stage in HOLDING_STAGES and (held.reserve, held.reserved) != (amount, amount):
        yield f"{stage} payment should hold {amount}, holds {held}"
    elif status in ("CANCELLED", "REJECTED") and held.reserved != 0:
        yield f"{status} payment still holds {held.reserved}"
    elif status == "SUCCESS" and (held.settle, held.reserved, held.release) != (amount, 0, 0):
        yield f"SUCCESS payment should have settled {amount}: {held}"
    elif status == "RETURNED" and (held.settle, held.return_) != (amount, amount):
        yield f"RETURNED payment should have settled and returned {amount}: {held}"


def sqlite_integrity(engine: Engine) -> list[str]:
    """``PRAGMA integrity_check`` and ``foreign_key_check`` findings (SQLite only)."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as connection:
        integrity = [r[0] for r in connection.exec_driver_sql("PRAGMA integrity_check")]
        foreign = list(connection.exec_driver_sql("PRAGMA foreign_key_check"))
    found = [] if integrity == ["ok"] else [f"integrity_check: {integrity}"]
    return found + [f"foreign_key_check: {row}" for row in foreign]


def undelivered(snap: Snapshot) -> int:
    """How many outbox events wait for delivery."""
    return sum(1 for events in snap.events.values() for e in events if e["delivered_at"] is None)
