"""The Balance API (docs/reference.md §12, D16):
``GET /send/partners/{partner_id}/crossborder/accounts`` (``?include_balance=true|false``,
default false) and ``.../accounts/{account_id}``. JSON only.

The list answers a JSON array; one account answers an object. Amounts are decimal strings
at the currency's scale; ``queuedBalance`` is present for ledger accounts (every mtf and
production partner queues, D16) and for the sandbox's ``acct_ssq``; ``thresholdAmount`` is
left out when zero, as in Mastercard's BHD sample.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote

from xborder.api import problems
from xborder.api.schemas import timestamp
from xborder.clock import Clock
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.domain.ledger import from_minor
from xborder.services import accounts as usecases
from xborder.services.payments import UowFactory

PREFIX = b"/send/partners/"
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("accounts", "GET", "/send/partners/{partner-id}/crossborder/accounts"),  # ?include_balance
    ("account", "GET", "/send/partners/{partner-id}/crossborder/accounts/{account-id}"),
)
"""The operations :func:`match` answers, as (handler, method, path template)."""
ACCOUNT_STATE = "ACTIVE"
OPENING_TIME = "00:00:00+00:00"
"""The balance day opens at midnight UTC (``openingBalanceTimestamp`` is a time of day)."""


def match(raw_path: bytes, method: str, query: bytes) -> tuple[str, str, str]:
    """``(handler name, partner id, key)`` for a Balance API path, else UnknownRoute.

    ``key`` is the account id, or ``"true"``/``"false"`` for the list's include_balance.
    """
    try:
        segments = [unquote(s.decode("ascii"), errors="strict") for s in raw_path.split(b"/")]
    except UnicodeError as exc:
        raise problems.UnknownRoute() from exc
    if len(segments) < 3 or segments[1:3] != ["crossborder", "accounts"]:
        raise problems.UnknownRoute()
    rest = segments[3:]
    if method not in ("GET", "HEAD"):
        raise problems.MethodNotAllowed(("GET",))
    if rest in ([], [""]):
        return "accounts", segments[0], _include_balance(query)
    if len(rest) == 1:
        return "account", segments[0], rest[0]
    raise problems.UnknownRoute()


def _include_balance(query: bytes) -> str:
    try:
        # Blank values kept: "include_balance=" is a value the description does not allow (D21).
        arguments = parse_qs(query.decode("ascii"), keep_blank_values=True, errors="strict")
        values = arguments.get("include_balance", [])
    except UnicodeError as exc:
        raise problems.UnknownRoute() from exc
    value = (values[0] if values else "false").lower()
    if value not in ("true", "false"):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "include_balance")])
    return value


def accounts(partner_id: str, include: str, uow_factory: UowFactory, clock: Clock) -> Any:
    """The list document: a JSON array of accounts."""
    sheets = usecases.list_accounts(partner_id, uow_factory=uow_factory, clock=clock)
    return [sheet_view(sheet, balances=include == "true") for sheet in sheets]


def account(partner_id: str, account_id: str, uow_factory: UowFactory, clock: Clock) -> Any:
    """One account with all its balances."""
    sheet = usecases.get_account(partner_id, account_id, uow_factory=uow_factory, clock=clock)
    return sheet_view(sheet, balances=True)


def sheet_view(sheet: usecases.AccountSheet, *, balances: bool) -> dict[str, Any]:
    """An account as the Balance API shows it."""
    view: dict[str, Any] = {"accountId": sheet.account.account_id, "accountState": ACCOUNT_STATE}
    if not balances:
        return view
    currency = sheet.account.currency

    def money(minor: int | None) -> dict[str, str] | None:
        if minor is None:
            return None
        return {"amount": from_minor(minor, currency).to_wire(), "currency": currency}

    view["openingBalanceTimestamp"] = OPENING_TIME
    view["balanceAsOfTimestamp"] = timestamp(sheet.as_of)
    view["balanceDetails"] = {
        "openingBalance": money(sheet.opening),
        "processedAmount": money(sheet.processed),
        "reservedBalance": money(sheet.reserved),
        "availableBalance": money(sheet.available),
        "settlementAccountBalance": money(sheet.settlement_account_balance),
        "queuedBalance": money(sheet.queued),
        "thresholdAmount": money(sheet.account.threshold_minor or None),
    }
    return view
