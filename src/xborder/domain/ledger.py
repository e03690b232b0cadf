"""Prefunded settlement accounts: the ledger rules (D16).

Design overview
---------------
Each partner of an mtf or production project has one settlement account per currency. Funds
move only through append-only ledger entries; every figure of an account is *derived* from
them, never stored:

========  ============================================  ===========================
kind      meaning                                       effect
========  ============================================  ===========================
FUND      the partner prefunds the account              available += amount
RESERVE   a payment starts processing                   available -> reserved
RELEASE   a reserved payment is cancelled or rejected   reserved -> available
SETTLE    a payment completes (SUCCESS)                 reserved -> settled (debit)
RETURN    a settled payment comes back (RETURNED)       settled -> available
========  ============================================  ===========================

So ``funded = FUND``, ``reserved = RESERVE - RELEASE - SETTLE``, ``settled = SETTLE - RETURN``
and ``available = funded - settled - reserved``. Returned funds come back to the account
they left, as a RETURN credit (the receiving side gave the money back).

A payment waiting in stage ``InsufficientBalance`` holds no entry: ``queued`` is the sum of
the settlement amounts of those payments, kept outside the entries.

Invariants (checked by :func:`check_account` and :func:`check_payment`, enforced by the
functions below under the account's lock, and by CHECK constraints in storage):

* every entry amount is a positive whole number of minor units;
* ``available >= 0`` and ``reserved >= 0`` after every entry;
* per payment, the reservation is all or nothing: RESERVE at most once, then at most one
  RELEASE or SETTLE of the same amount, and a RETURN only after a SETTLE.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from xborder.domain.errors import InsufficientFunds, LedgerViolation
from xborder.domain.money import Money


class EntryKind(enum.StrEnum):
    """What an entry does to the account (see the module table)."""

    FUND = "FUND"
    RESERVE = "RESERVE"
    RELEASE = "RELEASE"
    SETTLE = "SETTLE"
    RETURN = "RETURN"


def to_minor(money: Money) -> int:
    """``money`` as a whole number of minor units (``12.34 USD`` -> 1234).

    Raises:
        ValueError: the amount has more decimals than the currency's minor unit.
    """
    if not money.is_whole_minor_units():
        raise ValueError(f"{money.to_wire()} {money.currency} is not whole minor units")
    return int(money.amount.scaleb(money.exponent))


def from_minor(minor: int, currency: str) -> Money:
    """A count of minor units back as :class:`Money` at the currency's scale."""
    return Money(Decimal(minor).scaleb(-Money.zero(currency).exponent), currency).quantize()


@dataclass(frozen=True, slots=True)
class Totals:
    """The sum of an account's (or one payment's) entries, per kind, in minor units."""

    fund: int = 0
    reserve: int = 0
    release: int = 0
    settle: int = 0
    return_: int = 0

    @classmethod
    def of(cls, entries: Iterable[tuple[EntryKind, int]]) -> Totals:
        """Totals of ``(kind, amount)`` pairs."""
        sums = dict.fromkeys(EntryKind, 0)
        for kind, amount in entries:
            sums[kind] += amount
        return cls(
            sums[EntryKind.FUND],
            sums[EntryKind.RESERVE],
            sums[EntryKind.RELEASE],
            sums[EntryKind.SETTLE],
            sums[EntryKind.RETURN],
        )

    @property
    def funded(self) -> int:
        return self.fund

    @property
    def reserved(self) -> int:
        return self.reserve - self.release - self.settle

    @property
    def settled(self) -> int:
        """Money that left the account for good: settlements net of returns."""
        return self.settle - self.return_

    @property
    def available(self) -> int:
        """``funded - settled - reserved`` (D16)."""
        return self.funded - self.settled - self.reserved

    def plus(self, kind: EntryKind, amount: int) -> Totals:
        """These totals with one more entry."""
        return Totals.of([*self._pairs(), (kind, amount)])

    def _pairs(self) -> list[tuple[EntryKind, int]]:
        return [
            (EntryKind.FUND, self.fund),
            (EntryKind.RESERVE, self.reserve),
            (EntryKind.RELEASE, self.release),
            (EntryKind.SETTLE, self.settle),
            (EntryKind.RETURN, self.return_),
        ]


def check_amount(amount: int) -> int:
    """An entry amount: a positive whole number of minor units, else :class:`LedgerViolation`."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise LedgerViolation(f"entry amount must be a positive integer, not {amount!r}")
    return amount


def can_reserve(account: Totals, amount: int) -> bool:
    """Whether the available balance covers ``amount``."""
    return account.available >= check_amount(amount)


def reserve(account: Totals, held: Totals, amount: int) -> EntryKind:
    """Reserve a payment's settlement amount; never lets available go below zero.

    Raises:
        InsufficientFunds: available does not cover ``amount``.
        LedgerViolation: the payment already has a reservation.
    """
    if held.reserve:
        raise LedgerViolation("payment already reserved")
    if not can_reserve(account, amount):
        raise InsufficientFunds(f"available {account.available} < {amount}")
    return EntryKind.RESERVE


def release(held: Totals) -> tuple[EntryKind, int] | None:
    """The entry that gives back what a payment holds, or None when it holds nothing."""
    if held.reserved <= 0:
        return None
    return EntryKind.RELEASE, held.reserved


def settle(held: Totals) -> tuple[EntryKind, int] | None:
    """The entry turning a payment's reservation into a debit, or None when nothing is held
    (a payment without a settlement amount)."""
    if held.reserved <= 0:
        return None
    return EntryKind.SETTLE, held.reserved


def return_(held: Totals) -> tuple[EntryKind, int] | None:
    """The entry crediting a returned payment's settled amount back, or None."""
    if held.settled <= 0:
        return None
    return EntryKind.RETURN, held.settled


def check_account(account: Totals) -> None:
    """Raise :class:`LedgerViolation` unless the account's figures are consistent."""
    if account.reserved < 0 or account.available < 0 or account.settled < 0:
        raise LedgerViolation(f"account figures out of range: {account}")


def check_payment(held: Totals) -> None:
    """Raise :class:`LedgerViolation` unless one payment's entries follow the per-payment rule."""
    if held.fund:
        raise LedgerViolation("a FUND entry belongs to no payment")
    if held.release + held.settle > held.reserve or held.return_ > held.settle:
        raise LedgerViolation(f"payment entries out of order: {held}")
    if held.release and held.settle:
        raise LedgerViolation("a payment is either released or settled, never both")


@dataclass(frozen=True, slots=True)
class Account:
    """A partner's settlement account in one currency (D16); its figures come from entries."""

    account_id: str
    partner_id: str
    currency: str
    threshold_minor: int = 0


ACCOUNT_ID_PREFIX = "acct_"


def new_account_id() -> str:
    """A public account id: ``acct_`` and 16 URL-safe random characters (at most 30, D10)."""
    return ACCOUNT_ID_PREFIX + secrets.token_urlsafe(12)
