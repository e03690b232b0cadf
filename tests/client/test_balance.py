"""The Balance API (docs/reference.md §12), JSON only, against a MockTransport answering with the
documented shapes (the server endpoint does not exist yet)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.client.balance_server import ACCOUNT, ACCOUNTS_PATH, PARTNER, BalanceServer
from tests.client.conftest import Keys, encryption_for, no_sleep
from xborder.client import (
    Amount,
    AsyncXborderClient,
    NotFoundError,
    ValidationError,
    XborderClient,
)
from xborder.security import jwe
from xborder.security.keys import fingerprint, load_certificate

BASE = "https://sandbox.api.mastercard.com"


@pytest.fixture
def server() -> BalanceServer:
    return BalanceServer()


def client_of(server: BalanceServer, **options: Any) -> XborderClient:
    return XborderClient(
        BASE, PARTNER, transport=httpx.MockTransport(server), sleep=no_sleep, **options
    )


def test_list_with_balances(server: BalanceServer) -> None:
    accounts = client_of(server, wire_format="xml").get_accounts(include_balance=True)
    assert [a.account_id for a in accounts] == ["acct_ssq", "acct_eur"]
    details = accounts[0].balance_details
    assert details is not None
    assert details.available_balance == Amount(Decimal("750.00"), "USD")
    assert details.queued_balance == Amount(Decimal("300.00"), "USD")
    assert accounts[0].balance_as_of is not None and accounts[0].balance_as_of.tzinfo
    assert accounts[1].balance_details is None
    request = server.requests[0]
    assert request.url.raw_path == f"{ACCOUNTS_PATH}?include_balance=true".encode()
    assert request.headers["Accept"] == "application/json"  # JSON only, even for an XML client


def test_list_without_the_parameter_and_without_balances(server: BalanceServer) -> None:
    client = client_of(server)
    assert client.get_accounts()[0].account_id == "acct_eur"
    client.get_accounts(include_balance=False)
    assert [r.url.query for r in server.requests] == [b"", b"include_balance=false"]


def test_one_account(server: BalanceServer) -> None:
    account = client_of(server).get_account("acct_ssq", include_balance=True)
    assert account.settlement_currency == "USD" and account.account_state == "ACTIVE"
    assert account.opening_balance_timestamp == "00:00:00Z"
    assert account.document == ACCOUNT


@pytest.mark.parametrize(
    ("account_id", "expected", "code"),
    [
        ("ERR_130193", NotFoundError, "130193"),
        ("acct++@bc", ValidationError, "082000"),
        ("a" * 31, ValidationError, "072000"),
    ],
)
def test_documented_errors(
    server: BalanceServer, account_id: str, expected: type[Exception], code: str
) -> None:
    with pytest.raises(expected) as raised:
        client_of(server).get_account(account_id)
    assert getattr(raised.value, "error_detail_code", None) == code
    assert server.requests[0].url.raw_path.startswith(f"{ACCOUNTS_PATH}/".encode())


def test_encrypted_answers_are_decrypted(keys: Keys) -> None:
    client_cert = load_certificate(keys.client_cert.encode())

    def encrypted(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-encrypted"] == "true"
        compact = jwe.encrypt(
            json.dumps([ACCOUNT]).encode(), client_cert, kid=fingerprint(client_cert), cty="json"
        )
        return httpx.Response(
            200, json={"encrypted_payload": {"data": compact}}, headers={"x-encrypted": "true"}
        )

    client = XborderClient(
        BASE, PARTNER, transport=httpx.MockTransport(encrypted), encryption=encryption_for(keys)
    )
    assert client.get_accounts(include_balance=True)[0].account_id == "acct_ssq"


@pytest.mark.anyio
async def test_async_balance(server: BalanceServer) -> None:
    async with AsyncXborderClient(BASE, PARTNER, transport=httpx.MockTransport(server)) as client:
        assert len(await client.get_accounts(include_balance=True)) == 2
        assert (await client.get_account("acct_ssq")).account_id == "acct_ssq"
