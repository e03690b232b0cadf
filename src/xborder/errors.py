"""The root of every error xborder raises on purpose.

Each layer defines its errors in one module: ``xborder.domain.errors``,
``xborder.security.errors``, ``xborder.services.errors``, ``xborder.api.problems`` (the
HTTP request itself), ``xborder.cli.errors`` (exit codes), ``xborder.storage.errors`` and
the public client's ``xborder.client._errors``. ``xborder.api.errors`` holds no classes: it
is the one table that turns them into HTTP answers. The subtrees not drawn below are drawn
in their modules.

Hierarchy::

    XborderError
    ├── DomainError                      (xborder.domain.errors; each carries an XBS error code)
    │   ├── ValidationFailed             a request field breaks a rule of docs/reference.md §2 (D8)
    │   ├── PaymentNotFound              no such payment for this partner (D6)
    │   ├── CancellationNotPermitted     the payment is not cancellable now (D3, D6)
    │   ├── ReferenceConflict            a reference reused with another payload (D7)
    │   ├── PaymentRejected              a payment refused at submission (D7)
    │   ├── InvalidTransition            a status change the transition table forbids
    │   ├── InsufficientFunds            a reservation the available balance does not cover (D16)
    │   ├── LedgerViolation              an entry that would break a ledger invariant (D16)
    │   ├── AccountNotFound              no settlement account with that id (D16)
    │   ├── PrefundNotEnabled            the partner is not enabled for prefunding (D16)
    │   └── ActionRefused                an operator action the payment's state forbids (D17)
    ├── SecurityError                    (xborder.security.errors) authentication or payload
    │                                    encryption fails (D11, D12, D20, D23)
    ├── RequestError                     (xborder.api.problems) the HTTP request is unusable (D9)
    ├── ConflictError                    (xborder.services.errors, as are the next eight) a save
    │                                    lost a race
    ├── StaleRegistry                    the registry changed under a request (D11, D13)
    ├── ProjectError                     a project or partner command is refused
    ├── WebhookError                     a webhook command is refused (D14)
    ├── OAuth2Error                      the authorization server refuses (D23)
    ├── GrantNotFound                    no grant has that id (D23)
    ├── GrantDecided                     the grant is no longer pending (D23)
    ├── TokenNotFound                    revoking a token that was never issued (D23)
    ├── ClockNotControllable             the clock is the wall clock (D17)
    ├── ClientError                      (xborder.client) what the public client raises
    └── ConfigError                      a setting cannot be understood

Outside the root, never reaching a client as such: ``UnpricedCurrency``
(xborder.domain.errors) and ``_AmountTooSmall`` (xborder.services.errors), ``ValueError``
subclasses that ``create_payment`` turns into a rejection; ``DecodeError``
(xborder.api.codecs), a ``ValueError`` its callers turn into ``MalformedBody`` or
``PayloadDecryptionError``; the command line's click exceptions (xborder.cli.errors); and
``SavepointsNeeded`` (xborder.storage.errors), a ``BaseException`` by which a transaction
without savepoints tells the writer to run its group again with them.
"""

from __future__ import annotations


class XborderError(Exception):
    """Root of the errors xborder raises deliberately."""


class ConfigError(XborderError):
    """Raised when a setting read from flags or the environment cannot be understood."""
