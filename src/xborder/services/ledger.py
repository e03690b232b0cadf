"""The payment lifecycle outside the sandbox, inside one unit of work (D13, D16).

These helpers run in a transaction the caller opened. Each status change goes through the
aggregate (so the outbox gets exactly one event per change) and its ledger entry is written
in the same transaction. Lock order is always *account, then payment*: a helper that may
write an entry locks the payment's account before the payment is saved, so two transactions
can never wait on each other in opposite orders (PostgreSQL would abort one as a deadlock).

A sandbox payment (D13, D15) never touches the ledger: every helper is a no-op for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from xborder.domain.codes import rejection_for
from xborder.domain.ledger import Account, EntryKind, can_reserve, to_minor
from xborder.domain.ledger import release as release_rule
from xborder.domain.ledger import reserve as reserve_rule
from xborder.domain.ledger import return_ as return_rule
from xborder.domain.ledger import settle as settle_rule
from xborder.domain.lifecycle import EXPIRY_CODE, LifecycleRules
from xborder.domain.model import Payment
from xborder.domain.projects import Environment
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.unit_of_work import AbstractUnitOfWork

_SANDBOX = Environment.SANDBOX.value


def environment_of(uow: AbstractUnitOfWork, partner_id: str) -> str:
    """D13: the environment of the partner's project; an unbound partner is a sandbox one."""
    project = uow.partners.project_of(partner_id)
    return project.environment.value if project is not None else _SANDBOX


def uses_ledger(payment: Payment) -> bool:
    """Whether the payment's funds move through the ledger (mtf and production, D16)."""
    return payment.environment != _SANDBOX


def settlement_of(payment: Payment) -> tuple[str, int] | None:
    """The payment's settlement currency and amount in minor units, or None when unpriced."""
    if payment.quote is None:
        return None
    settlement = payment.quote.settlement
    return settlement.currency, to_minor(settlement)


def lock_account(uow: AbstractUnitOfWork, payment: Payment, now: datetime) -> Account | None:
    """Lock the account a ledger payment draws on (creating it if needed); None otherwise."""
    if not uses_ledger(payment):
        return None
    settlement = settlement_of(payment)
    if settlement is None:
        return None
    return uow.accounts.lock(payment.partner_id, settlement[0], now)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a new ledger payment goes: reserved now, or queued behind the others."""

    account: Account
    amount: int
    reserved: bool


def place(
    uow: AbstractUnitOfWork, payment: Payment, now: datetime, rules: LifecycleRules
) -> Placement | None:
    """Decide a new payment's stage (D16): Processing when the account's queue is empty and
    available covers the settlement amount, else InsufficientBalance. Call before the payment
    is added; write the entry with :func:`record` after."""
    if payment.status is not PaymentStatus.PENDING or not uses_ledger(payment):
        return None  # a sandbox payment keeps the stage its trigger gave it (D13, D15)
    settlement = settlement_of(payment)
    if settlement is None:  # unpriced: nothing to reserve, processing at once
        _set_stage(
            payment, PendingStage.PROCESSING, rules.expected_completion(payment.channel, now)
        )
        return None
    account = uow.accounts.lock(payment.partner_id, settlement[0], now)
    amount = settlement[1]
    covered = not uow.accounts.queue(account.account_id) and can_reserve(
        uow.accounts.totals(account.account_id), amount
    )
    if covered:
        _set_stage(
            payment, PendingStage.PROCESSING, rules.expected_completion(payment.channel, now)
        )
    else:
        _set_stage(payment, PendingStage.INSUFFICIENT_BALANCE, rules.queue_deadline(now))
    return Placement(account, amount, covered)


def record(
    uow: AbstractUnitOfWork, placement: Placement | None, payment_id: str, now: datetime
) -> None:
    """Write what :func:`place` decided, once the payment row exists."""
    if placement is None:
        return
    account_id = placement.account.account_id
    if placement.reserved:
        uow.accounts.add_entry(account_id, EntryKind.RESERVE, placement.amount, payment_id, now)
    else:
        uow.accounts.enqueue(account_id, payment_id, placement.amount)


def _set_stage(payment: Payment, stage: PendingStage, deadline: datetime) -> None:
    """Set the stage of a payment not stored yet (creation is not a status change)."""
    payment.pending_stage = stage
    payment.pending_max_completion_date = deadline


def release_held(
    uow: AbstractUnitOfWork, account: Account | None, payment: Payment, now: datetime
) -> None:
    """Give back what a cancelled or rejected payment held (RELEASE), if anything."""
    if account is None:
        return
    entry = release_rule(uow.accounts.held(payment.id))
    if entry is not None:
        uow.accounts.add_entry(account.account_id, entry[0], entry[1], payment.id, now)


def settle_held(
    uow: AbstractUnitOfWork, account: Account | None, payment: Payment, now: datetime
) -> None:
    """Turn a completed payment's reservation into a debit (SETTLE)."""
    if account is None:
        return
    entry = settle_rule(uow.accounts.held(payment.id))
    if entry is not None:
        uow.accounts.add_entry(account.account_id, entry[0], entry[1], payment.id, now)


def credit_return(
    uow: AbstractUnitOfWork, account: Account | None, payment: Payment, now: datetime
) -> None:
    """Credit a returned payment's settled amount back to its account (RETURN)."""
    if account is None:
        return
    entry = return_rule(uow.accounts.held(payment.id))
    if entry is not None:
        uow.accounts.add_entry(account.account_id, entry[0], entry[1], payment.id, now)


def reserve_for(
    uow: AbstractUnitOfWork,
    account: Account | None,
    payment: Payment,
    now: datetime,
    rules: LifecycleRules,
) -> None:
    """Move a queued payment to Processing, reserving its amount (raises InsufficientFunds)."""
    settlement = settlement_of(payment)
    if account is not None and settlement is not None:
        held = uow.accounts.held(payment.id)
        kind = reserve_rule(uow.accounts.totals(account.account_id), held, settlement[1])
        uow.accounts.add_entry(account.account_id, kind, settlement[1], payment.id, now)
    payment.move_to_stage(
        PendingStage.PROCESSING, now, rules.expected_completion(payment.channel, now)
    )
    uow.payments.save(payment)


def drain(
    uow: AbstractUnitOfWork, account: Account | None, now: datetime, rules: LifecycleRules
) -> list[str]:
    """Release queued payments in creation order while available covers the head (strict
    FIFO: a payment never overtakes an older one). Returns the released payment ids."""
    if account is None:
        return []
    released: list[str] = []
    for queued in uow.accounts.queue(account.account_id):
        if not can_reserve(uow.accounts.totals(account.account_id), queued.amount):
            break
        payment = uow.payments.get(account.partner_id, queued.payment_id)
        if payment is None:  # pragma: no cover - the queue joins on payments
            break
        reserve_for(uow, account, payment, now, rules)
        released.append(payment.id)
    return released


def expire(
    uow: AbstractUnitOfWork, account: Account | None, payment: Payment, now: datetime
) -> None:
    """A payment that waited past the maximum queue time is declined with 130196 (D16)."""
    payment.reject(rejection_for(EXPIRY_CODE), now)
    uow.payments.save(payment)
    release_held(uow, account, payment, now)
