"""The Balance API's sandbox: static accounts and the documented triggers
(docs/reference.md §3, §12).

A sandbox partner has no ledger (D13): the Balance API answers with Mastercard's static
sample figures. By account id: ``acct_ssq`` adds a queued balance (prefund queuing),
``ERR_130192`` and ``ERR_130193`` are refused with those codes; the length and character
rules (072000, 082000) hold in every environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from xborder.domain.errors import AccountNotFound, PrefundNotEnabled


@dataclass(frozen=True, slots=True)
class StaticAccount:
    """A sandbox account's figures in minor units (available and balance are derived)."""

    account_id: str
    currency: str
    opening: int
    processed: int
    reserved: int
    threshold: int
    queued: int | None = None


ACCOUNTS: tuple[StaticAccount, ...] = (
    StaticAccount("acct_1001", "USD", 1_000_075, 200_025, 10_000, 10_000),
    StaticAccount("acct_1003", "BHD", 15_000_570, 2_000_230, 100_170, 0),
)
"""What ``GET .../accounts`` lists for a sandbox partner (queuedBalance is not included)."""

QUEUED = StaticAccount("acct_ssq", "USD", 1_000_075, 200_025, 10_000, 10_000, queued=24_602)
"""``acct_ssq``: an account of a partner opted in for prefund queuing."""


def account(account_id: str) -> StaticAccount:
    """The static account with that id, or the documented refusal."""
    if account_id == QUEUED.account_id:
        return QUEUED
    if account_id == "ERR_130192":
        raise PrefundNotEnabled("account_id")
    for entry in ACCOUNTS:
        if entry.account_id == account_id:
            return entry
    raise AccountNotFound("account_id")
