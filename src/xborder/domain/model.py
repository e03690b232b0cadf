"""The Payment aggregate.

Design overview
---------------
A payment is created once, from a validated request, by a partner. Its ``status`` then moves
only along :data:`xborder.domain.states.TRANSITIONS`:

    PENDING --(stage changes)--> PENDING
    PENDING --> SUCCESS --> RETURNED
    PENDING --> REJECTED
    PENDING --> CANCELLED

Invariants (also CHECK constraints in storage):

* ``pending_stage`` and ``pending_max_completion_date`` are set exactly when ``status`` is
  PENDING (D5 removes them on cancel).
* ``channel`` is decided at creation and never recomputed (D4).
* ``(partner_id, transaction_reference)`` is unique (D7).
* every status change appends one :class:`StatusChanged` to ``events`` (D14); storage
  writes those to the outbox in the same transaction as the change.
* ``version`` increases by one at each stored change; storage refuses a save whose
  version is stale, so two concurrent cancels can never both win (D6).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xborder.domain.channels import Channel
from xborder.domain.errors import CancellationNotPermitted, InvalidTransition, Rejection
from xborder.domain.events import StatusChanged
from xborder.domain.pricing import Quote
from xborder.domain.states import PaymentStatus, PendingStage, check_transition

PAYMENT_ID_PREFIX = "rem_"


def new_payment_id() -> str:
    """A payment id: ``rem_`` and 27 URL-safe characters from a cryptographic source (D10)."""
    return PAYMENT_ID_PREFIX + secrets.token_urlsafe(20)


def new_cashout_code() -> str:
    """A 10-digit code the sender passes to a cash-pickup beneficiary."""
    return "".join(secrets.choice("0123456789") for _ in range(10))


@dataclass(frozen=True, slots=True)
class CancelPolicy:
    """D3, in one place: which PENDING payments may be cancelled.

    Attributes:
        non_cancellable_providers: mobile-money provider ids (the ``sp=`` of an ``ewallet:``
            URI) whose payments can be cancelled only in stage InsufficientBalance.
    """

    non_cancellable_providers: frozenset[str] = frozenset()

    def permits(self, payment: Payment) -> bool:
        """True when D3 lets ``payment`` be cancelled now."""
        if payment.status is not PaymentStatus.PENDING:
            return False
        if payment.pending_stage is PendingStage.INSUFFICIENT_BALANCE:
            return True
        if payment.channel is Channel.CASH_OUT:
            return True
        if payment.channel is Channel.MOBILE_MONEY:
            provider = (payment.provider or "").lower()
            return provider not in {p.lower() for p in self.non_cancellable_providers}
        return False


@dataclass(eq=False)
class Payment:
    """A cross-border payment and its lifecycle. See the module docstring for invariants."""

    id: str
    partner_id: str
    transaction_reference: str
    request: Mapping[str, Any]
    request_fingerprint: str
    channel: Channel
    provider: str | None
    status: PaymentStatus
    pending_stage: PendingStage | None
    created: datetime
    status_timestamp: datetime
    pending_max_completion_date: datetime | None = None
    quote: Quote | None = None
    cashout_code: str | None = None
    rejection: Rejection | None = None
    return_message: str | None = None
    environment: str = "sandbox"
    version: int = 0
    events: list[StatusChanged] = field(default_factory=list, repr=False)

    def cancel(self, now: datetime, policy: CancelPolicy) -> None:
        """Cancel this payment (D3, D5), or raise :class:`CancellationNotPermitted`."""
        if not policy.permits(self):
            raise CancellationNotPermitted(f"{self.status}/{self.pending_stage}/{self.channel}")
        self._change(PaymentStatus.CANCELLED, None, now)

    def move_to_stage(self, stage: PendingStage, now: datetime, max_completion: datetime) -> None:
        """Move a PENDING payment to another pending stage."""
        self._change(PaymentStatus.PENDING, stage, now)
        self.pending_max_completion_date = max_completion

    def settle(self, now: datetime) -> None:
        """Complete the payment: PENDING -> SUCCESS."""
        self._change(PaymentStatus.SUCCESS, None, now)

    def refuse(self, rejection: Rejection) -> None:
        """Refuse a payment still being created (D7): it will be stored REJECTED.

        Not a status change: the payment has never been stored in another status, so no
        event is recorded and ``status_timestamp`` stays its creation time.
        """
        if self.version != 0 or self.events:
            raise InvalidTransition(self.status.value, PaymentStatus.REJECTED.value)
        self.status = PaymentStatus.REJECTED
        self.pending_stage = None
        self.pending_max_completion_date = None
        self.rejection = rejection

    def reject(self, rejection: Rejection, now: datetime) -> None:
        """Refuse the payment: PENDING -> REJECTED, with the reason Retrieve shows."""
        self.rejection = rejection
        self._change(PaymentStatus.REJECTED, None, now)

    def return_(self, now: datetime, rejection: Rejection | None, message: str | None) -> None:
        """Return a completed payment: SUCCESS -> RETURNED, with a coded or plain reason."""
        self.rejection = rejection
        self.return_message = message
        self._change(PaymentStatus.RETURNED, None, now)

    def _change(self, status: PaymentStatus, stage: PendingStage | None, now: datetime) -> None:
        check_transition(self.status, status)
        previous = self.status
        self.status = status
        self.pending_stage = stage
        if status is not PaymentStatus.PENDING:
            self.pending_max_completion_date = None
        self.status_timestamp = now
        rejection = self.rejection if status in _WITH_REASON else None
        self.events.append(
            StatusChanged(
                payment_id=self.id,
                partner_id=self.partner_id,
                transaction_reference=self.transaction_reference,
                previous_status=previous,
                status=status,
                pending_stage=stage,
                occurred_at=now,
                error_code=rejection.detail_code if rejection else None,
                error_message=rejection.message if rejection else self._reason_message(status),
            )
        )

    def _reason_message(self, status: PaymentStatus) -> str | None:
        return self.return_message if status is PaymentStatus.RETURNED else None


_WITH_REASON = frozenset({PaymentStatus.REJECTED, PaymentStatus.RETURNED})
