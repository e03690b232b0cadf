"""Prefunded settlement accounts: fund one, report balances (D16, docs/reference.md §12).

Figures of a sheet, all derived from the ledger (see :mod:`xborder.domain.ledger`), with the
relations every one of Mastercard's samples satisfies (``available = opening - processed``,
``settlementAccountBalance = available + reserved``):

* ``available`` = funded - settled - reserved (D16), never below zero
* ``reserved`` = what processing payments hold
* ``processed`` = settled since the start of the current UTC day + reserved (in process)
* ``opening`` = ``available + processed``: the balance at the start of the day plus the
  credits (fundings, returns) of the day
* ``settlement_account_balance`` = ``available + reserved`` = funded - settled
* ``queued`` = settlement amounts of the payments waiting in InsufficientBalance
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time

from xborder.clock import Clock
from xborder.domain.errors import (
    AccountNotFound,
    ActionRefused,
    FieldProblem,
    LedgerViolation,
    ProblemKind,
    ValidationFailed,
)
from xborder.domain.ledger import Account, EntryKind, check_amount, to_minor
from xborder.domain.money import Money
from xborder.domain.projects import Environment
from xborder.sandbox import balances as sandbox_balances
from xborder.services import ledger
from xborder.services.payments import PaymentRules, UowFactory
from xborder.services.unit_of_work import AbstractUnitOfWork

ACCOUNT_ID = re.compile(r"[A-Za-z0-9_\-]+")
ACCOUNT_ID_MAX = 30
"""Balance API: an account id longer than 30 characters is 072000, other characters 082000."""


@dataclass(frozen=True, slots=True)
class AccountSheet:
    """An account and its figures in minor units, as of ``as_of``."""

    account: Account
    opening: int
    processed: int
    reserved: int
    available: int
    settlement_account_balance: int
    queued: int | None
    opening_time: datetime
    as_of: datetime


def fund_account(
    partner_id: str,
    currency: str,
    amount: str,
    *,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
) -> tuple[AccountSheet, list[str]]:
    """Credit a partner's account (created on first use) and release queued payments in
    creation order. Returns the new sheet and the ids of the payments released.

    Raises:
        ValidationFailed: a bad currency or amount.
        ActionRefused: the partner is a sandbox partner (no prefunded accounts, D13).
    """
    minor = _amount(amount, currency)
    with uow_factory() as uow:
        if ledger.environment_of(uow, partner_id) == Environment.SANDBOX.value:
            raise ActionRefused("fund", f"partner {partner_id} is a sandbox partner")
        now = clock.now()
        account = uow.accounts.lock(partner_id, currency, now)
        uow.accounts.add_entry(account.account_id, EntryKind.FUND, minor, None, now)
        released = ledger.drain(uow, account, now, rules.lifecycle)
        sheet = sheet_of(uow, account, now)
        uow.commit()
    return sheet, released


def list_accounts(partner_id: str, *, uow_factory: UowFactory, clock: Clock) -> list[AccountSheet]:
    """The partner's accounts with their figures (the sandbox's static ones for sandbox)."""
    now = clock.now()
    with uow_factory(readonly=True) as uow:
        if ledger.environment_of(uow, partner_id) == Environment.SANDBOX.value:
            return [_static(a, now) for a in sandbox_balances.ACCOUNTS]
        return [sheet_of(uow, account, now) for account in uow.accounts.all(partner_id)]


def get_account(
    partner_id: str, account_id: str, *, uow_factory: UowFactory, clock: Clock
) -> AccountSheet:
    """One account's figures. Raises ValidationFailed, AccountNotFound, PrefundNotEnabled."""
    check_account_id(account_id)
    now = clock.now()
    with uow_factory(readonly=True) as uow:
        if ledger.environment_of(uow, partner_id) == Environment.SANDBOX.value:
            return _static(sandbox_balances.account(account_id), now)
        account = uow.accounts.get(partner_id, account_id)
        if account is None:
            raise AccountNotFound("account_id")
        return sheet_of(uow, account, now)


def check_account_id(account_id: str) -> None:
    """The Balance API's account-id rule: at most 30 characters, letters, digits, ``_-``."""
    if len(account_id) > ACCOUNT_ID_MAX:
        raise ValidationFailed([FieldProblem(ProblemKind.LENGTH, "account_id")])
    if not ACCOUNT_ID.fullmatch(account_id):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "account_id")])


def sheet_of(uow: AbstractUnitOfWork, account: Account, now: datetime) -> AccountSheet:
    """The figures of ``account`` from its entries and queue (D16)."""
    day = day_start(now)
    totals = uow.accounts.totals(account.account_id)
    processed = uow.accounts.totals(account.account_id, since=day).settle + totals.reserved
    queued = sum(q.amount for q in uow.accounts.queue(account.account_id))
    return AccountSheet(
        account,
        opening=totals.available + processed,
        processed=processed,
        reserved=totals.reserved,
        available=totals.available,
        settlement_account_balance=totals.funded - totals.settled,
        queued=queued,
        opening_time=day,
        as_of=now,
    )


def day_start(now: datetime) -> datetime:
    """Midnight UTC of ``now``'s day: the opening of the balance day."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


def _static(entry: sandbox_balances.StaticAccount, now: datetime) -> AccountSheet:
    return AccountSheet(
        Account(entry.account_id, "", entry.currency, entry.threshold),
        entry.opening,
        entry.processed,
        entry.reserved,
        entry.opening - entry.processed,
        entry.opening - entry.processed + entry.reserved,
        entry.queued,
        day_start(now),
        now,
    )


def _amount(amount: str, currency: str) -> int:
    try:
        money = Money.of(amount, currency)
    except (TypeError, ValueError) as exc:
        field = "currency" if "currency" in str(exc) else "amount"
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, field)]) from exc
    try:
        return check_amount(to_minor(money))
    except (ValueError, LedgerViolation) as exc:  # too many decimals, or not positive
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "amount")]) from exc
