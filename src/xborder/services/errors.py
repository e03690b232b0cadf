"""The errors the use cases raise (``xborder.services``).

Nothing here knows HTTP: ``xborder.api.errors`` maps the classes a client can meet to a status,
the OAuth 2.0 routes answer :class:`OAuth2Error` as RFC 6749's JSON, and the command line
turns the rest into a message and an exit code.

Hierarchy::

    XborderError                        (xborder.errors)
    ├── ConflictError                   a save lost a race (stale version or duplicate key)
    │   └── DuplicateReference          the partner has a payment with that reference (D7)
    ├── StaleRegistry                   the registry changed under a request (D11, D13)
    ├── ProjectError                    a project or partner command cannot be carried out
    │   ├── InvalidProject              a consumer key or certificate that cannot be used
    │   ├── ProjectExists               the consumer key is registered already
    │   ├── ProjectNotFound             no project has that consumer key
    │   ├── ProjectHasPartners          removing a project that partners are still bound to
    │   ├── PartnerAlreadyBound         binding a partner that another project holds
    │   └── PartnerNotBound             unbinding a partner that is not bound
    ├── WebhookError                    a webhook command was refused (D14)
    │   ├── InvalidWebhookUrl           the URL is not an absolute http(s) URL
    │   ├── EventNotRedeliverable       no such event, or it is still waiting for delivery
    │   └── InvalidWebhookPartner       not a partner id a partner could have
    ├── OAuth2Error                     the authorization server refuses (D23); ``error`` is
    │   │                               RFC 6749's code
    │   ├── InvalidRequest              invalid_request: a parameter missing, repeated or unusable
    │   ├── InvalidClient               invalid_client: request token refused, or used before
    │   ├── UnauthorizedClient          unauthorized_client: the project is not an eu/uk one
    │   ├── InvalidGrant                invalid_grant: code or refresh token unknown, expired,
    │   │   │                           another client's, or redirect_uri differs
    │   │   └── ReusedToken             spent or revoked before: its grant is revoked
    │   └── UnsupportedGrantType        unsupported_grant_type
    ├── GrantNotFound                   no grant has that id (admin API, collecting a code)
    ├── GrantDecided                    approving or denying a grant that is not pending
    ├── TokenNotFound                   revoking a token that was never issued
    └── ClockNotControllable            moving the clock of a wall-clock deployment (D17)

    ValueError
    └── _AmountTooSmall                 pricing left no principal; private to the services:
                                        ``create_payment`` turns it into a 082000 rejection
"""

from __future__ import annotations

from typing import ClassVar

from xborder.errors import XborderError


class ConflictError(XborderError):
    """Raised by a repository when a save lost a race (stale version or duplicate key)."""


class DuplicateReference(ConflictError):
    """Raised by ``add`` when the partner already has a payment with that reference."""


class StaleRegistry(XborderError):
    """Raised inside a request's transaction when the registry changed since the request's
    project and binding were read: the request must be decided again (never reaches a client)."""


class ProjectError(XborderError):
    """Base of the refusals of project and partner commands."""


class InvalidProject(ProjectError):
    """Raised when a consumer key breaks the header rule, a certificate is unusable, or the
    ``required`` encryption policy is asked of a project without a client-encryption
    certificate (D20: its answers could not be encrypted)."""


class ProjectExists(ProjectError):
    """Raised when adding a consumer key that is registered already."""


class ProjectNotFound(ProjectError):
    """Raised when no project has the consumer key given."""


class ProjectHasPartners(ProjectError):
    """Raised when removing a project while partners are bound to it, without asking to
    unbind them."""


class PartnerAlreadyBound(ProjectError):
    """Raised when binding a partner that is bound to another project."""


class PartnerNotBound(ProjectError):
    """Raised when unbinding a partner that is not bound to any project."""


class WebhookError(XborderError):
    """A webhook registration was refused."""


class InvalidWebhookUrl(WebhookError):
    """The URL is not an absolute http(s) URL."""


class EventNotRedeliverable(WebhookError):
    """The event does not exist or has not finished its delivery yet."""


class InvalidWebhookPartner(WebhookError):
    """The partner id is not one a partner could have (D2's partner-id form)."""


class OAuth2Error(XborderError):
    """A refusal of the authorization server, answered as RFC 6749's ``{"error": …}``."""

    error: ClassVar[str] = "invalid_request"


class InvalidRequest(OAuth2Error):
    """Raised when a parameter is missing, repeated or unusable."""

    error = "invalid_request"


class InvalidClient(OAuth2Error):
    """Raised when the client's request token is refused or was used before."""

    error = "invalid_client"


class UnauthorizedClient(OAuth2Error):
    """Raised when the client's project is not an eu or uk one (D23)."""

    error = "unauthorized_client"


class InvalidGrant(OAuth2Error):
    """Raised when a code or refresh token cannot be exchanged: unknown, expired, issued to
    another client, or presented with another ``redirect_uri``."""

    error = "invalid_grant"


class ReusedToken(InvalidGrant):
    """Raised when a spent (or revoked) code or refresh token is presented again: everything
    its grant issued is revoked."""

    def __init__(self, message: str, grant_id: str) -> None:
        super().__init__(message)
        self.grant_id = grant_id


class UnsupportedGrantType(OAuth2Error):
    """Raised for a ``grant_type`` other than ``authorization_code`` and ``refresh_token``."""

    error = "unsupported_grant_type"


class GrantNotFound(XborderError):
    """Raised when no grant has the id given."""


class GrantDecided(XborderError):
    """Raised when approving or denying a grant that is no longer pending."""


class TokenNotFound(XborderError):
    """Raised when revoking a token that xborder never issued."""


class ClockNotControllable(XborderError):
    """Raised when moving the clock of a deployment that runs on the wall clock
    (``XBORDER_CLOCK=system``)."""


class _AmountTooSmall(ValueError):
    """Raised by ``create_payment``'s pricing when the principal left after fees is zero or
    less; caught there and stored as a 082000 rejection, so it never leaves the services."""
