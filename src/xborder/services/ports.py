"""Ports of the lifecycle, the ledger, the clock and the scheduler (D16, D17), and of the
Balance API's authorization-code flow (D23).

The unit of work exposes one object per protocol; ``xborder.storage`` implements them.
Every method runs inside the unit's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from xborder.domain.ledger import Account, EntryKind, Totals
from xborder.domain.oauth2 import Grant, GrantStatus, StoredToken


@dataclass(frozen=True, slots=True)
class QueuedPayment:
    """A payment waiting for funds, in the account's FIFO order."""

    payment_id: str
    amount: int


class AccountRepository(Protocol):
    """Settlement accounts, their ledger entries and their funding queues (D16)."""

    def lock(self, partner_id: str, currency: str, now: datetime) -> Account:
        """The partner's account in ``currency``, created when missing, locked for the rest
        of the transaction (``SELECT ... FOR UPDATE``; SQLite serialises writers anyway).
        Every change of a ledger payment locks its account *before* saving the payment, so
        that transactions always lock in the same order (account, then payment)."""
        ...

    def find(self, partner_id: str, currency: str) -> Account | None:
        """The partner's account in ``currency``, without locking it."""
        ...

    def get(self, partner_id: str, account_id: str) -> Account | None:
        """The partner's account with that public id."""
        ...

    def all(self, partner_id: str) -> list[Account]:
        """The partner's accounts, oldest first."""
        ...

    def totals(self, account_id: str, since: datetime | None = None) -> Totals:
        """The sums of the account's entries (only those created at or after ``since``)."""
        ...

    def held(self, payment_id: str) -> Totals:
        """The sums of one payment's entries."""
        ...

    def add_entry(
        self, account_id: str, kind: EntryKind, amount: int, payment_id: str | None, now: datetime
    ) -> None:
        """Append one ledger entry."""
        ...

    def enqueue(self, account_id: str, payment_id: str, amount: int) -> None:
        """Put a payment at the end of the account's funding queue."""
        ...

    def queue(self, account_id: str) -> list[QueuedPayment]:
        """Payments still waiting in InsufficientBalance, first in first."""
        ...


@dataclass(frozen=True, slots=True)
class DueCandidate:
    """A ledger payment that may have a time-driven step due."""

    partner_id: str
    payment_id: str


class Schedule(Protocol):
    """What the scheduler scans, and the lease that lets one process scan at a time (D17)."""

    def candidates(
        self, now: datetime, cutoffs: Mapping[tuple[str, str], datetime], limit: int
    ) -> list[DueCandidate]:
        """Pending mtf/production payments whose step may be due, oldest stage first: those
        queued past their deadline, and those whose ``(stage, channel)`` is in ``cutoffs``
        and entered that stage at or before the cutoff. The domain decides for each."""
        ...

    def accounts_with_queue(self) -> list[tuple[str, str]]:
        """``(partner_id, currency)`` of every account with payments waiting for funds."""
        ...

    def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the named lease; False when another holder's lease is still valid."""
        ...


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One row of the outbox: a status change waiting for (or past) delivery (D14)."""

    id: int
    event_ref: str
    payment_id: str
    partner_id: str
    transaction_reference: str
    previous_status: str
    status: str
    pending_stage: str | None
    occurred_at: datetime
    error_code: str | None
    error_message: str | None
    delivered_at: datetime | None


class EventLog(Protocol):
    """Read access to the outbox, for operators."""

    def since(
        self, partner_id: str | None, payment_id: str | None, after: int, limit: int
    ) -> list[StatusEvent]:
        """Events with an id above ``after``, oldest first."""
        ...

    def among(self, ids: Sequence[int]) -> list[StatusEvent]:
        """The events with these ids, oldest first."""
        ...


class ClockOffset(Protocol):
    """The controllable clock's offset, shared by every server process (D17)."""

    def get(self) -> timedelta:
        """The current offset from the wall clock."""
        ...

    def advance(self, delta: timedelta) -> timedelta:
        """Add ``delta`` (positive) to the offset; the new offset."""
        ...


# --- status-change push (D14) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where a partner's events go; ``secret`` (when set) keys the HMAC signature."""

    url: str
    secret: str | None


@dataclass(frozen=True, slots=True)
class DueEvent:
    """The oldest undelivered event of one payment, due for an attempt."""

    id: int
    payment_id: str
    partner_id: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of one delivery attempt."""

    started_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One recorded attempt, with the event it carried, for operators."""

    id: int
    outbox_id: int
    event_ref: str
    partner_id: str
    payment_id: str
    status: str
    attempt: int
    started_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    outcome: str | None


class WebhookStore(Protocol):
    """Partners' webhook targets and the outbox as a delivery queue (D14)."""

    def set_target(self, partner_id: str, url: str, secret: str | None) -> bool:
        """Register (or replace) a partner id's webhook, bound or not (D18); True."""
        ...

    def target(self, partner_id: str) -> WebhookTarget | None:
        """The partner's webhook, or None."""
        ...

    def targets(self) -> list[tuple[str, WebhookTarget]]:
        """Every registered webhook by partner id."""
        ...

    def skip_unregistered(self) -> int:
        """Mark waiting events of partners without a webhook ``SKIPPED``; how many."""
        ...

    def due(self, now: datetime, limit: int) -> list[DueEvent]:
        """Per payment, its oldest waiting event, when due now and not claimed; by id."""
        ...

    def claim(self, event: DueEvent, now: datetime, until: datetime) -> bool:
        """Start attempt ``event.attempts + 1`` (claimed until ``until``); False when another
        process claimed or finished it first."""
        ...

    def event(self, event_id: int) -> StatusEvent:
        """One outbox row."""
        ...

    def history(self, payment_id: str, up_to: int) -> list[StatusEvent]:
        """The payment's events with an id up to ``up_to``, newest first."""
        ...

    def finish(
        self, event: DueEvent, attempt: Attempt, outcome: str | None, retry_at: datetime | None
    ) -> None:
        """Record attempt ``event.attempts + 1`` and its consequence: ``DELIVERED`` or
        ``FAILED`` (final), or None (retry at ``retry_at``)."""
        ...

    def requeue(self, event_id: int) -> bool:
        """Queue a finished event again with fresh attempts; False when it is not finished."""
        ...

    def give_up(self, event_id: int) -> None:
        """Mark an event ``FAILED`` without a new attempt (its attempts are spent)."""
        ...

    def deliveries(
        self, partner_id: str | None, payment_id: str | None, limit: int
    ) -> list[DeliveryRecord]:
        """Recorded attempts, oldest first."""
        ...


class OAuth2Store(Protocol):
    """Grants and hashed tokens of the Balance API's authorization-code flow (D23)."""

    def add_grant(self, grant: Grant) -> None:
        """Insert a new grant."""

    def grant(self, grant_id: str) -> Grant | None:
        """The grant with that id, or None."""

    def grants(self, status: GrantStatus, limit: int) -> list[Grant]:
        """Up to ``limit`` grants in ``status``, oldest first."""

    def move_grant(self, grant_id: str, before: GrantStatus, after: GrantStatus) -> bool:
        """Set the grant's status to ``after`` if it is ``before``; False otherwise."""

    def add_token(self, token: StoredToken) -> None:
        """Insert a token (by hash)."""

    def token(self, token_hash: str) -> StoredToken | None:
        """The token with that hash, or None."""

    def spend(self, token_hash: str) -> bool:
        """Revoke the token if it is not yet; False when it already was (spent before)."""

    def revoke_grant(self, grant_id: str) -> int:
        """Revoke every token of the grant; return how many were live."""

    def revoke_project(self, consumer_key: str) -> int:
        """Revoke every token of the project; return how many were live."""

    def purge(self, now: int, grants_before: int) -> int:
        """Delete tokens expired at ``now`` (``expires_at <= now``), then grants created before
        ``grants_before`` that no token refers to any more; return how many rows went."""
