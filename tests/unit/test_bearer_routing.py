"""How the gate routes a request between OAuth 1.0a, request tokens and access tokens (D23):
the Authorization scheme and whether the path is the Balance API's."""

from __future__ import annotations

import pytest

from xborder.api.gate import Incoming
from xborder.api.request_tokens import is_balance, is_bearer


@pytest.mark.parametrize(
    ("authorization", "bearer"),
    [
        ("Bearer a.b.c", True),
        ("bearer a.b.c", True),
        ("  BEARER token", True),
        ("Bearer", True),
        ('OAuth oauth_consumer_key="k"', False),
        ("Bearerx a.b.c", False),
        ("Basic dXNlcg==", False),
        ("", False),
        (None, False),
    ],
)
def test_scheme(authorization: str | None, bearer: bool) -> None:
    assert is_bearer(authorization) is bearer


@pytest.mark.parametrize(
    ("path", "balance"),
    [
        ("/send/partners/P1/crossborder/accounts", True),
        ("/send/partners/P1/crossborder/accounts/acct_eur?include_balance=true", True),
        ("/send/v1/partners/P1/crossborder/payment", False),
        ("/send/v1/partners/P1/crossborder?ref=X", False),
    ],
)
def test_balance_paths(path: str, balance: bool) -> None:
    incoming = Incoming("GET", "https://sandbox.api.xbs.mastercard.uk" + path, "P1", {}, b"")
    assert is_balance(incoming) is balance
