"""The public surface of ``xborder.client`` is exactly its ``__all__`` (STYLE habit 10).

Adding, removing or renaming a public name must be a deliberate change of this list too.
"""

from __future__ import annotations

import types

import xborder.client as client

EXPECTED = [
    "DEFAULT_TIMEOUT",
    "AccessTokenAuth",
    "Account",
    "Amount",
    "ApiError",
    "AsyncXborderClient",
    "AuthenticationError",
    "AuthorizationError",
    "BalanceDetails",
    "Cancellation",
    "ClientError",
    "ConflictError",
    "ConsentPending",
    "DeclinedError",
    "ErrorItem",
    "NotFoundError",
    "OAuth1Auth",
    "PayloadEncryption",
    "Payment",
    "Psd2Auth",
    "RejectedStatus",
    "RequestTokenAuth",
    "ResponseError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "WireFormat",
    "XborderClient",
    "load_signing_key",
]


def test_all_is_the_expected_list() -> None:
    assert client.__all__ == EXPECTED


def test_all_is_sorted() -> None:
    assert client.__all__ == sorted(client.__all__, key=lambda n: (not n.isupper(), n))


def test_every_name_exists() -> None:
    for name in client.__all__:
        assert getattr(client, name) is not None, name


def test_no_public_name_is_left_out() -> None:
    public = {
        name
        for name, value in vars(client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(client.__all__)


def test_public_classes_say_where_they_live() -> None:
    for name in client.__all__:
        value = getattr(client, name)
        if isinstance(value, type):
            assert value.__module__.startswith("xborder.client._"), name
            assert value.__doc__, f"{name} has no docstring"
