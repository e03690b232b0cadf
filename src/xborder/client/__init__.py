"""A client of Mastercard Cross-Border Services' Payment, Retrieve, Cancel and Balance APIs.

It works the same against xborder and against Mastercard's hosts; it signs with Mastercard's
OAuth 1.0a signer, encrypts with Mastercard's client-encryption library (JSON) or xborder's
JWE (XML), retries only what is safe to retry, and raises one exception class per error
family. It depends on httpx and ``xborder.security`` only, never on the server's code.
Projects of the PSD2 EU and UK hosts authenticate with :class:`Psd2Auth` (OAuth 2.0 request
tokens, and access tokens of the authorization-code flow on the Balance API, D23) instead of
:class:`OAuth1Auth`.

Example::

    from xborder.client import OAuth1Auth, XborderClient

    auth = OAuth1Auth.from_file("abc…!123", "mybank-sandbox.p12", "keystorepassword")
    with XborderClient("https://sandbox.api.mastercard.com", "MYBANK_SANDBOX1", auth=auth) as c:
        payment = c.create_payment({"transaction_reference": "…", …})
        c.cancel_payment(payment.id)
"""

from xborder.client._access_token_auth import AccessTokenAuth, Psd2Auth
from xborder.client._async import AsyncXborderClient
from xborder.client._auth import OAuth1Auth, load_signing_key
from xborder.client._client import DEFAULT_TIMEOUT, XborderClient
from xborder.client._encryption import PayloadEncryption
from xborder.client._errors import (
    ApiError,
    AuthenticationError,
    AuthorizationError,
    ClientError,
    ConflictError,
    ConsentPending,
    DeclinedError,
    ErrorItem,
    NotFoundError,
    ResponseError,
    ServerError,
    TransportError,
    ValidationError,
)
from xborder.client._flows import RetryPolicy
from xborder.client._models import (
    Account,
    Amount,
    BalanceDetails,
    Cancellation,
    Payment,
    RejectedStatus,
)
from xborder.client._request_token_auth import RequestTokenAuth
from xborder.client._wire import WireFormat

__all__ = [
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
