"""Domain events: facts about payments, in the past tense.

A status change records one :class:`StatusChanged`; storage writes it to the outbox in the
same transaction as the change itself (D5, D14), so a push is never sent for a change that
rolled back and never lost for one that committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from xborder.domain.states import PaymentStatus, PendingStage


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """A payment's status (or pending stage) changed.

    ``error_code``/``error_message`` are set when the new status carries a reason
    (REJECTED, RETURNED), as the push payload's ``transactionStatus`` does (docs/reference.md §10).
    """

    payment_id: str
    partner_id: str
    transaction_reference: str
    previous_status: PaymentStatus
    status: PaymentStatus
    pending_stage: PendingStage | None
    occurred_at: datetime
    error_code: str | None = None
    error_message: str | None = None
