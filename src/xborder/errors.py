"""The root of every error xborder raises on purpose.

Hierarchy::

    XborderError
    ├── DomainError                      (xborder.domain.errors; each carries an XBS error code)
    │   ├── ValidationFailed             a request field breaks a rule of xbs-api.md §2 (D8)
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
    ├── RequestError                     (xborder.api.problems) the HTTP request is unusable (D9)
    ├── SecurityError                    (xborder.security) authentication or decryption fails
    ├── ProjectError                     (xborder.services.projects) a project command is refused
    ├── ClockNotControllable             (xborder.services.timeline) the clock is the wall clock
    └── ConfigError                      a setting cannot be understood
"""

from __future__ import annotations


class XborderError(Exception):
    """Root of the errors xborder raises deliberately."""


class ConfigError(XborderError):
    """Raised when a setting read from flags or the environment cannot be understood."""
