"""The root of every error xborder raises on purpose.

Hierarchy::

    XborderError
    ├── DomainError                      (xborder.domain.errors; each carries an XBS error code)
    │   ├── ValidationFailed             a request field breaks a rule of xbs-api.md §2 (D8)
    │   ├── PaymentNotFound              no such payment for this partner (D6)
    │   ├── CancellationNotPermitted     the payment is not cancellable now (D3, D6)
    │   ├── ReferenceConflict            a reference reused with another payload (D7)
    │   ├── PaymentRejected              a payment refused at submission (D7)
    │   └── InvalidTransition            a status change the transition table forbids
    ├── RequestError                     (xborder.api.problems) the HTTP request is unusable (D9)
    ├── SecurityError                    (xborder.security) authentication or decryption fails
    └── ConfigError                      a setting cannot be understood
"""

from __future__ import annotations


class XborderError(Exception):
    """Root of the errors xborder raises deliberately."""


class ConfigError(XborderError):
    """Raised when a setting read from flags or the environment cannot be understood."""
