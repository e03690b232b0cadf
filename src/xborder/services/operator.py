"""Operator actions on payments (D17): advance, settle, reject with a code, return with a code.

Each action obeys the same transition table (through the aggregate) and the same ledger rules
as the API and the scheduler, in one transaction with its ledger entry and outbox event. An
illegal action raises :class:`ActionRefused`, saying why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from xborder.clock import Clock
from xborder.domain.codes import rejection_for
from xborder.domain.errors import (
    ActionRefused,
    FieldProblem,
    InsufficientFunds,
    InvalidTransition,
    PaymentNotFound,
    ProblemKind,
    Rejection,
    ValidationFailed,
)
from xborder.domain.ledger import Account
from xborder.domain.lifecycle import Step, next_step
from xborder.domain.model import Payment
from xborder.domain.states import PendingStage
from xborder.services import ledger
from xborder.services.errors import ConflictError
from xborder.services.payments import PaymentRules, UowFactory
from xborder.services.unit_of_work import AbstractUnitOfWork

SOURCE_ADMIN = "admin"
_RETRIES = 8
_CODE = re.compile(r"[0-9]{6}")

Action = Callable[[AbstractUnitOfWork, Account | None, Payment, datetime, PaymentRules], None]
Booking = Callable[[AbstractUnitOfWork, Account | None, Payment, datetime], None]


def advance_payment(
    partner_id: str, key: str, *, uow_factory: UowFactory, clock: Clock, rules: PaymentRules
) -> Payment:
    """Push a pending payment to its next stage, whatever the time (D17)."""
    return _operate("advance", partner_id, key, _advance, uow_factory, clock, rules)


def settle_payment(
    partner_id: str, key: str, *, uow_factory: UowFactory, clock: Clock, rules: PaymentRules
) -> Payment:
    """Complete a pending payment now: SUCCESS, its reservation becomes a debit."""
    return _operate("settle", partner_id, key, _settle, uow_factory, clock, rules)


def reject_payment(
    partner_id: str,
    key: str,
    code: str,
    *,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
) -> Payment:
    """Decline a pending payment with an XBS error code; what it held is released."""
    change = _coded(code, lambda p, why, now: p.reject(why, now), ledger.release_held)
    return _operate("reject", partner_id, key, change, uow_factory, clock, rules)


def return_payment(
    partner_id: str,
    key: str,
    code: str,
    *,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
) -> Payment:
    """Return a completed payment with an XBS code; its amount is credited back (RETURN)."""
    change = _coded(code, lambda p, why, now: p.return_(now, why, None), ledger.credit_return)
    return _operate("return", partner_id, key, change, uow_factory, clock, rules)


def _operate(
    action: str,
    partner_id: str,
    key: str,
    apply: Action,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
) -> Payment:
    for _ in range(_RETRIES):
        with uow_factory() as uow:
            payment = _lookup(uow, partner_id, key)
            now = clock.now()
            account = ledger.lock_account(uow, payment, now)
            try:
                apply(uow, account, payment, now, rules)
            except ConflictError:
                continue  # changed meanwhile: decide again on the fresh state
            except InvalidTransition as exc:
                raise ActionRefused(action, _state(payment) + " does not allow it") from exc
            except InsufficientFunds as exc:
                reason = f"{_state(payment)}: the available balance does not cover it"
                raise ActionRefused(action, reason + "; fund it first") from exc
            uow.commit()
        return payment
    raise ConflictError(f"{action} kept losing races")  # pragma: no cover


def _advance(
    uow: AbstractUnitOfWork, account: Account | None, p: Payment, now: datetime, r: PaymentRules
) -> None:
    step = next_step(p)
    if step is None:
        raise ActionRefused("advance", _state(p) + " has no next stage")
    if step is Step.RELEASE:
        ledger.reserve_for(uow, account, p, now, r.lifecycle)
    elif step is Step.TO_ELIGIBLE:
        deadline = p.pending_max_completion_date or r.lifecycle.expected_completion(p.channel, now)
        p.move_to_stage(PendingStage.ELIGIBLE_FOR_SETTLEMENT, now, deadline)
        uow.payments.save(p)
    else:
        _settle(uow, account, p, now, r)


def _settle(
    uow: AbstractUnitOfWork, account: Account | None, p: Payment, now: datetime, r: PaymentRules
) -> None:
    if account is not None and p.pending_stage is PendingStage.INSUFFICIENT_BALANCE:
        raise ActionRefused("settle", _state(p) + " holds no funds yet: fund or advance it")
    p.settle(now)
    uow.payments.save(p)
    ledger.settle_held(uow, account, p, now)


def _coded(
    code: str,
    transition: Callable[[Payment, Rejection, datetime], None],
    booking: Booking,
) -> Action:
    """The action that rejects or returns with ``code``: ``transition``, ``booking``, drain."""
    rejection = rejection_for(_checked(code))

    def apply(
        uow: AbstractUnitOfWork, account: Account | None, p: Payment, now: datetime, r: PaymentRules
    ) -> None:
        transition(p, rejection, now)
        uow.payments.save(p)
        booking(uow, account, p, now)
        ledger.drain(uow, account, now, r.lifecycle)

    return apply


def _lookup(uow: AbstractUnitOfWork, partner_id: str, key: str) -> Payment:
    payment = uow.payments.get(partner_id, key) or uow.payments.get_by_reference(partner_id, key)
    if payment is None:
        raise PaymentNotFound(SOURCE_ADMIN)
    return payment


def _checked(code: str) -> str:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "code")])
    return code


def _state(payment: Payment) -> str:
    stage = f"/{payment.pending_stage.value}" if payment.pending_stage else ""
    return f"payment {payment.id} in {payment.status.value}{stage}"
