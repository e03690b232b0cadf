"""The sandbox trigger table (D15): one row per trigger, first match wins.

Mastercard's documented triggers (docs/reference.md §3) come first and hold exactly; xborder's own
triggers (prefix ``PND``) follow, so that every pending stage can be reached on every channel
from a plain client, and each branch of D3 exercised. A reference that matches nothing gives
``PENDING`` in stage ``Processing`` (the official reference client relies on this).

This module is pure: it decides an :class:`Outcome` from the reference and the recipient URI.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from xborder.domain.codes import rejection_for
from xborder.domain.errors import Rejection
from xborder.domain.states import PaymentStatus, PendingStage


class Flow(enum.Enum):
    """Special behaviours some triggers have beyond their initial outcome."""

    NONE = "none"
    RETURN_AFTER_SUCCESS = "return"  # 8…RR<code>: SUCCESS, then RETURNED with the code
    AMBIGUOUS_RESUBMIT = "resubmit"  # 11S…501: resubmission rules


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a sandbox payment becomes at creation."""

    status: PaymentStatus
    stage: PendingStage | None = None
    rejection: Rejection | None = None
    flow: Flow = Flow.NONE
    blank_amounts: bool = False


@dataclass(frozen=True, slots=True)
class Trigger:
    """One row of the table: a name for docs and tests, a rule, and what it produces."""

    name: str
    example: str
    description: str
    decide: Callable[[str, str], Outcome | None]


RESUBMIT_NOT_BEFORE = timedelta(minutes=10)
RESUBMIT_NOT_AFTER = timedelta(minutes=30)
"""11S…501: a resubmission with the same parameters succeeds in this window (D-PAY)."""

_RECIPIENT_10 = re.compile(r"10\d{4}$")
_ENDS_CODE = re.compile(r"^2.*?(\d{6})$")
_RETURNED = re.compile(r"^8.*RR(\d{6})$")
_PENDING = PaymentStatus.PENDING
DEFAULT_OUTCOME = Outcome(_PENDING, PendingStage.PROCESSING)

# The 04 trigger's documented result is "REJECTED (error response)" with no code given;
# the BANKWIRE sample of the same trigger declines with 130101, which we use for both.
_REJECT_04 = rejection_for("130101")


def _rule(
    prefix: str, outcome: Outcome, recipient_10: bool = False
) -> Callable[[str, str], Outcome | None]:
    def decide(reference: str, recipient: str) -> Outcome | None:
        if not reference.startswith(prefix):
            return None
        if recipient_10 and not _RECIPIENT_10.search(recipient[-6:]):
            return None
        return outcome

    return decide


def _rejected_with_code(reference: str, _recipient: str) -> Outcome | None:
    match = _ENDS_CODE.match(reference)
    if not match:
        return None
    return Outcome(PaymentStatus.REJECTED, rejection=rejection_for(match.group(1)))


def _returned_with_code(reference: str, _recipient: str) -> Outcome | None:
    match = _RETURNED.match(reference)
    if not match:
        return None
    return Outcome(
        PaymentStatus.SUCCESS,
        rejection=rejection_for(match.group(1)),
        flow=Flow.RETURN_AFTER_SUCCESS,
    )


def _ambiguous(reference: str, _recipient: str) -> Outcome | None:
    if reference.startswith("11S") and reference.endswith("501"):
        return Outcome(
            _PENDING, PendingStage.AMBIGUOUS, flow=Flow.AMBIGUOUS_RESUBMIT, blank_amounts=True
        )
    return None


STAGE_CODES: dict[str, PendingStage] = {
    "PR": PendingStage.PROCESSING,
    "QF": PendingStage.QUEUED_FOR_FUTURE_PROCESSING,
    "ES": PendingStage.ELIGIBLE_FOR_SETTLEMENT,
    "AM": PendingStage.AMBIGUOUS,
    "IB": PendingStage.INSUFFICIENT_BALANCE,
}
"""xborder's own triggers: ``PND<code>…`` puts the payment PENDING in that stage."""


TRIGGERS: tuple[Trigger, ...] = (
    Trigger(
        "success", "09XXXXXXXX", "starts 09: SUCCESS", _rule("09", Outcome(PaymentStatus.SUCCESS))
    ),
    Trigger(
        "pending",
        "06XXXXXXXX + recipient tel:+254108989",
        "starts 06 and the recipient URI ends 10####: PENDING (Processing)",
        _rule("06", DEFAULT_OUTCOME, recipient_10=True),
    ),
    Trigger(
        "rejected",
        "04XXXXXXXX + recipient tel:+254108989",
        "starts 04 and the recipient URI ends 10####: rejected, DECLINE 130101",
        _rule("04", Outcome(PaymentStatus.REJECTED, rejection=_REJECT_04), recipient_10=True),
    ),
    Trigger(
        "ambiguous",
        "11SXXXXXXXXXX501",
        "starts 11S, ends 501: PENDING (Ambiguous); the same request 10-30 min later: SUCCESS",
        _ambiguous,
    ),
    Trigger(
        "rejected-with-code",
        "2XXXXXXXX130105",
        "starts 2, ends with a 6-digit error code: rejected with that code",
        _rejected_with_code,
    ),
    Trigger(
        "returned",
        "8XXXXXXRR130101",
        "starts 8, ends RR + a 6-digit code: SUCCESS, then Retrieve shows RETURNED with that code",
        _returned_with_code,
    ),
    *(
        Trigger(
            f"pending-{stage.value}",
            f"PND{code}XXXXXX",
            f"starts PND{code}: PENDING in stage {stage.value} (xborder)",
            _rule(f"PND{code}", Outcome(_PENDING, stage)),
        )
        for code, stage in STAGE_CODES.items()
    ),
)


def outcome_for(reference: str, recipient_uri: str | None) -> Outcome:
    """The outcome of a sandbox payment: the first trigger that matches, else the default."""
    recipient = recipient_uri or ""
    for trigger in TRIGGERS:
        outcome = trigger.decide(reference, recipient)
        if outcome is not None:
            return outcome
    return DEFAULT_OUTCOME
