"""The URL a client addressed, which is the URL it signed (D11).

Behind a reverse proxy the server sees its own scheme, host and port, not the ones the client
used, and the signature would not match. In order of precedence:

1. ``XBORDER_PUBLIC_URL`` (e.g. ``https://xbs.example.com`` or ``https://gw.example/xbs``):
   its scheme, host, port and path prefix replace what the server sees;
2. ``XBORDER_TRUST_FORWARDED=on``: the proxy's ``Forwarded`` header (RFC 7239 ``proto`` and
   ``host`` of the first element) or else ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` /
   ``X-Forwarded-Port``. Only switch this on when a proxy you run sets those headers, since a
   client could otherwise choose them;
3. otherwise the ``Host`` header and the connection's scheme.

The raw path and raw query are always kept exactly as received.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_SCHEMES = ("http", "https")
_HOST = re.compile(r"[A-Za-z0-9.\-_~!$&'()*+;=:\[\]]+")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True, slots=True)
class Addressing:
    """How to rebuild the client's URL from the one the server received."""

    public_url: str | None = None
    trust_forwarded: bool = False

    def url(self, received: str, headers: Mapping[str, str]) -> str:
        """``received`` (``scheme://host/raw-path?raw-query``) as the client addressed it."""
        scheme, rest = received.split("://", 1)
        slash = rest.find("/")
        host, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
        if self.public_url:
            public = urlsplit(self.public_url)
            return f"{public.scheme}://{public.netloc}{public.path.rstrip('/')}{path}"
        if self.trust_forwarded:
            scheme, host = _forwarded(headers, scheme, host)
        return f"{scheme}://{host}{path}"


def _forwarded(headers: Mapping[str, str], scheme: str, host: str) -> tuple[str, str]:
    forwarded = headers.get("forwarded")
    if forwarded:
        params = _first_element(forwarded)
        proto, fhost = params.get("proto"), params.get("host")
    else:
        proto = _first(headers.get("x-forwarded-proto"))
        fhost = _with_port(_first(headers.get("x-forwarded-host")), headers, proto or scheme)
    if proto is not None and proto.lower() in _SCHEMES:
        scheme = proto.lower()
    if fhost is not None and _HOST.fullmatch(fhost):
        host = fhost
    return scheme, host


def _first_element(forwarded: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in forwarded.split(",", 1)[0].split(";"):
        name, _, value = pair.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return params


def _first(value: str | None) -> str | None:
    if value is None:
        return None
    return value.split(",", 1)[0].strip() or None


def _with_port(host: str | None, headers: Mapping[str, str], scheme: str) -> str | None:
    port = _first(headers.get("x-forwarded-port"))
    if (
        host is None
        or port is None
        or not (port.isascii() and port.isdigit())
        or host.rsplit("]", 1)[-1].count(":")
    ):
        return host
    return host if _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
