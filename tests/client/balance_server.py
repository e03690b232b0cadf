"""A stand-in for the Balance API (docs/reference.md §12): the documented shapes, in JSON only.

The server endpoint does not exist yet; this MockTransport handler answers the two paths,
with the documented sandbox errors (D-BAL): ``acct++@bc`` -> 082000, an id longer than 30
characters -> 072000, any other unknown id -> 130193 SETTLEMENT_ACCOUNT_NOT_FOUND (404).
"""

from __future__ import annotations

from typing import Any

import httpx

PARTNER = "BEL_MASEND5ged2"
ACCOUNTS_PATH = f"/send/partners/{PARTNER}/crossborder/accounts"


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


ACCOUNT: dict[str, Any] = {
    "accountId": "acct_ssq",
    "settlementCurrency": "USD",
    "accountState": "ACTIVE",
    "openingBalanceTimestamp": "00:00:00Z",
    "balanceAsOfTimestamp": "2026-11-26T12:00:00Z",
    "balanceDetails": {
        "openingBalance": money("1000.00"),
        "processedAmount": money("150.00"),
        "reservedBalance": money("100.00"),
        "availableBalance": money("750.00"),
        "settlementAccountBalance": money("850.00"),
        "queuedBalance": money("300.00"),
        "thresholdAmount": money("200.00"),
    },
}
BARE = {"accountId": "acct_eur", "settlementCurrency": "EUR", "accountState": "ACTIVE"}


def error(status: int, reason: str, code: str, source: str) -> httpx.Response:
    body = {
        "Errors": {
            "Error": {
                "RequestId": "1",
                "Source": source,
                "ReasonCode": reason,
                "Description": reason,
                "Recoverable": "false",
                "Details": {"Detail": {"Name": "ErrorDetailCode", "Value": code}},
            }
        }
    }
    return httpx.Response(status, json=body)


class BalanceServer:
    """Answers the two Balance paths; records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        balances = request.url.params.get("include_balance") == "true"
        if path == ACCOUNTS_PATH:
            return httpx.Response(200, json=[ACCOUNT if balances else BARE, BARE])
        account_id = path.removeprefix(ACCOUNTS_PATH + "/")
        if account_id == "acct_ssq":
            return httpx.Response(200, json=ACCOUNT)
        if len(account_id) > 30:
            return error(400, "INVALID_INPUT_LENGTH", "072000", "account_id")
        if account_id == "acct++@bc":
            return error(400, "INVALID_INPUT_VALUE", "082000", "account_id")
        return error(404, "SETTLEMENT_ACCOUNT_NOT_FOUND", "130193", "account_id")
