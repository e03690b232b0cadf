"""Payment statuses, pending stages and the one table of allowed status changes.

Every status change in xborder goes through :func:`check_transition`; nothing else decides
whether a move is legal (STYLE habit 3).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from xborder.domain.errors import InvalidTransition


class PaymentStatus(enum.StrEnum):
    """Status of a payment as Retrieve reports it (docs/reference.md §2.4, D5 adds CANCELLED)."""

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    REJECTED = "REJECTED"
    RETURNED = "RETURNED"
    CANCELLED = "CANCELLED"


class PendingStage(enum.StrEnum):
    """Why a PENDING payment is pending (docs/reference.md §2.4 "Pending Stages")."""

    PROCESSING = "Processing"
    QUEUED_FOR_FUTURE_PROCESSING = "QueuedForFutureProcessing"
    ELIGIBLE_FOR_SETTLEMENT = "EligibleForSettlement"
    AMBIGUOUS = "Ambiguous"
    INSUFFICIENT_BALANCE = "InsufficientBalance"


TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    # PENDING -> PENDING is a change of pending stage only.
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.PENDING,
            PaymentStatus.SUCCESS,
            PaymentStatus.REJECTED,
            PaymentStatus.CANCELLED,
        }
    ),
    PaymentStatus.SUCCESS: frozenset({PaymentStatus.RETURNED}),
    PaymentStatus.REJECTED: frozenset(),
    PaymentStatus.RETURNED: frozenset(),
    PaymentStatus.CANCELLED: frozenset(),
}
"""Allowed moves from each status. REJECTED, RETURNED and CANCELLED are final."""


def check_transition(current: PaymentStatus, target: PaymentStatus) -> None:
    """Raise :class:`InvalidTransition` unless ``current -> target`` is in :data:`TRANSITIONS`."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)


def is_final(status: PaymentStatus) -> bool:
    """True for a status no payment ever leaves."""
    return not TRANSITIONS[status]
