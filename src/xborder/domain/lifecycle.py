"""The lifecycle of a payment outside the sandbox: which time-driven step is due (D16, D17).

Design overview
---------------
An mtf or production payment never follows a sandbox trigger (D13). It goes::

    create --(available covers it: RESERVE)--> PENDING/Processing
    create --(otherwise)--------------------> PENDING/InsufficientBalance   (queued)
    InsufficientBalance --(funding, FIFO)--> Processing                      (RESERVE)
    InsufficientBalance --(max queue time)--> REJECTED 130196
    Processing --(processing delay)-------> EligibleForSettlement
    EligibleForSettlement --(settlement delay)--> SUCCESS                    (SETTLE)
    PENDING --(operator reject / cancel)--> REJECTED / CANCELLED             (RELEASE)
    SUCCESS --(operator return)-----------> RETURNED                         (RETURN)

Delays are per channel and measured from the moment the payment entered its stage
(``status_timestamp``, which every change moves). This module only decides; the services
apply the change through the aggregate and write the ledger entry in the same transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from xborder.domain.channels import Channel
from xborder.domain.model import Payment
from xborder.domain.states import PaymentStatus, PendingStage

EXPIRY_CODE = "130196"
"""A payment that waited longer than the maximum queue time is declined with this code."""


class Step(enum.Enum):
    """A time-driven (or operator-driven) move of a pending payment."""

    RELEASE = "release"  # InsufficientBalance -> Processing, once funds cover it
    EXPIRE = "expire"  # InsufficientBalance -> REJECTED 130196
    TO_ELIGIBLE = "to-eligible"  # Processing -> EligibleForSettlement
    SETTLE = "settle"  # EligibleForSettlement -> SUCCESS


@dataclass(frozen=True, slots=True)
class Delays:
    """How long a channel's payments stay in Processing, then in EligibleForSettlement."""

    processing: timedelta
    settlement: timedelta


DEFAULT_DELAYS: Mapping[Channel, Delays] = MappingProxyType(
    {
        Channel.MOBILE_MONEY: Delays(timedelta(minutes=2), timedelta(minutes=2)),
        Channel.CARD: Delays(timedelta(minutes=5), timedelta(minutes=10)),
        Channel.BANK_ACCOUNT: Delays(timedelta(minutes=30), timedelta(hours=4)),
        Channel.CASH_OUT: Delays(timedelta(minutes=5), timedelta(hours=48)),
    }
)
"""Shipped defaults: mobile money is fast, a bank wire slow, a cash pickup waits to be
collected. Replace them with ``XBORDER_LIFECYCLE_DELAYS``."""


@dataclass(frozen=True, slots=True)
class LifecycleRules:
    """The deployment's lifecycle timing (D16)."""

    max_queue_time: timedelta = timedelta(hours=24)
    delays: Mapping[Channel, Delays] = field(default_factory=lambda: DEFAULT_DELAYS)

    def delays_for(self, channel: Channel) -> Delays:
        return self.delays.get(channel, DEFAULT_DELAYS[channel])

    def queue_deadline(self, created: datetime) -> datetime:
        """When a payment created at ``created`` stops waiting for funds."""
        return created + self.max_queue_time

    def expected_completion(self, channel: Channel, now: datetime) -> datetime:
        """The ``pending_max_completion_date`` of a payment that starts processing ``now``."""
        delays = self.delays_for(channel)
        return now + delays.processing + delays.settlement


def due_step(payment: Payment, now: datetime, rules: LifecycleRules) -> Step | None:
    """The time-driven step due for ``payment`` at ``now``, or None.

    Releases are not time-driven (they follow funding) and never returned here.
    """
    if payment.status is not PaymentStatus.PENDING or payment.environment == "sandbox":
        return None
    stage = payment.pending_stage
    if stage is PendingStage.INSUFFICIENT_BALANCE:
        deadline = payment.pending_max_completion_date
        return Step.EXPIRE if deadline is not None and now >= deadline else None
    delays = rules.delays_for(payment.channel)
    if stage is PendingStage.PROCESSING and now >= payment.status_timestamp + delays.processing:
        return Step.TO_ELIGIBLE
    if stage is PendingStage.ELIGIBLE_FOR_SETTLEMENT:
        return Step.SETTLE if now >= payment.status_timestamp + delays.settlement else None
    return None


def due_at(payment: Payment, step: Step, rules: LifecycleRules) -> datetime:
    """The moment ``step`` became due. The scheduler dates the change then, not when it ran,
    so that a clock moved forward by hours replays every step at its own time."""
    if step is Step.EXPIRE and payment.pending_max_completion_date is not None:
        return payment.pending_max_completion_date
    delays = rules.delays_for(payment.channel)
    if step is Step.TO_ELIGIBLE:
        return payment.status_timestamp + delays.processing
    if step is Step.SETTLE:
        return payment.status_timestamp + delays.settlement
    return payment.status_timestamp


def next_step(payment: Payment) -> Step | None:
    """The step an operator's "advance" performs: the payment's next stage, whatever the time.

    Stages the lifecycle never uses itself (sandbox-only stages such as Ambiguous) advance
    to Processing through a release.
    """
    if payment.status is not PaymentStatus.PENDING:
        return None
    stage = payment.pending_stage
    if stage is PendingStage.PROCESSING:
        return Step.TO_ELIGIBLE
    if stage is PendingStage.ELIGIBLE_FOR_SETTLEMENT:
        return Step.SETTLE
    return Step.RELEASE
