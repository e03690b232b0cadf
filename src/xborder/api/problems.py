"""Errors about the HTTP request itself (D9), before any business rule runs.

The API layer's one module of error classes; ``xborder.api.errors`` maps each to its status
and ``Errors`` body.

Hierarchy::

    XborderError                    (xborder.errors)
    └── RequestError                the request cannot be processed as sent
        ├── UnsupportedMediaType    a body with a missing or unsupported ``Content-Type``
        ├── NotAcceptable           ``Accept`` names neither JSON nor XML
        ├── MalformedBody           not well-formed JSON/XML, the wrong root, or a DTD
        ├── BodyTooLarge            larger than the limit (1 MiB)
        ├── InvalidPartnerId        the ``partner-id`` path segment breaks D8's rule
        ├── UnknownRoute            no endpoint has this path
        ├── MethodNotAllowed        the path exists, but not for this method
        └── AdminUnauthorized       an admin API request without the right bearer token (D17)
"""

from __future__ import annotations

from xborder.errors import XborderError


class RequestError(XborderError):
    """The request cannot be processed as sent; ``source`` names what is wrong."""

    source: str = "body"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or type(self).__name__)


class UnsupportedMediaType(RequestError):
    """A body came with a missing or unsupported ``Content-Type``."""

    source = "Content-Type"


class NotAcceptable(RequestError):
    """``Accept`` names neither JSON nor XML."""

    source = "Accept"


class MalformedBody(RequestError):
    """The body is not well-formed JSON/XML, has the wrong root, or holds a DTD."""


class BodyTooLarge(RequestError):
    """The body is larger than the limit (1 MiB)."""


class InvalidPartnerId(RequestError):
    """The ``partner-id`` path segment breaks D8's rule."""

    source = "partner-id"


class UnknownRoute(RequestError):
    """No XBS endpoint has this path."""

    source = "path"


class MethodNotAllowed(RequestError):
    """The path exists, but not for this HTTP method."""

    source = "method"

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__(", ".join(allowed))
        self.allowed = allowed


class AdminUnauthorized(RequestError):
    """An admin API request without the admin bearer token, or with a wrong one (D17)."""

    source = "Authorization"
