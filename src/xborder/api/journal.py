"""From a :class:`~xborder.api.exchange.Trace` to a redacted journal record (issue 14).

Runs on the journal's thread, never on the request path. Secrets are never stored: the
``oauth_signature`` of an Authorization header, Bearer tokens, cookies, PEM private keys and
the admin token are replaced by ``[redacted]`` in headers and bodies alike. Bodies are kept
up to :data:`MAX_BODY_CHARS` characters each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from xborder.api.exchange import KEPT_BYTES, Trace
from xborder.services.journal_ports import JournalRecord

REDACTED = "[redacted]"
MAX_BODY_CHARS = KEPT_BYTES
"""A journal keeps thousands of rows: a body beyond this is cut (and says so). 16 KiB holds
any payment request or answer whole, and keeps 5000 rows within a few hundred MB."""

_SIGNATURE = re.compile(r'(oauth_signature\s*=\s*")[^"]*("?)', re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer)\s+[^\s\",]+", re.IGNORECASE)
_PRIVATE_KEY = re.compile(
    # a body cut at MAX_BODY_CHARS may end inside a key: up to the end of the text, then
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_CONSUMER_KEY = re.compile(r'oauth_consumer_key="([^"]{1,200})"')
_HIDDEN_HEADERS = frozenset({"cookie", "proxy-authorization", "x-xborder-admin-token"})
_PAYMENT_KEYS = frozenset({"get", "cancel", "find"})


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without signatures, bearer tokens, private keys or any of ``secrets``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()  # the expressions run only where their marker occurs (cheap test)
    if "oauth_signature" in lowered:
        text = _SIGNATURE.sub(_keep_quotes, text)
    if "bearer" in lowered:
        text = _BEARER.sub(_keep_scheme, text)
    if "private key" in lowered:
        text = _PRIVATE_KEY.sub(f"-----{REDACTED} PRIVATE KEY-----", text)
    return text


def _suspect(text: str, secrets: Iterable[str]) -> bool:
    """Whether :func:`redact` could change ``text`` (one pass over several texts at once)."""
    for secret in secrets:
        if secret in text:
            return True
    lowered = text.lower()
    return "oauth_signature" in lowered or "bearer" in lowered or "private key" in lowered


def _keep_quotes(match: re.Match[str]) -> str:
    return f"{match.group(1)}{REDACTED}{match.group(2)}"


def _keep_scheme(match: re.Match[str]) -> str:
    return f"{match.group(1)} {REDACTED}"


class EntryBuilder:
    """Builds journal records; ``secrets`` (the admin token) are redacted wherever they occur.

    Runs once per request, on the journal's thread: most requests hold nothing to redact and
    nothing to cut, which one pass over their texts tells, and they take the short way.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(s for s in secrets if s)

    def __call__(self, trace: Trace) -> JournalRecord:
        admitted = trace.admitted
        encrypted = admitted is not None and admitted.caller.encrypted
        headers = trace.headers
        body, content = _decoded(trace.body), _decoded(trace.content)
        plain_in = _decoded(admitted.body) if encrypted and admitted is not None else None
        plain_out = _decoded(trace.plain) if trace.plain is not None else None
        texts = (*headers.values(), body, content, plain_in or "", plain_out or "")
        if (
            not _HIDDEN_HEADERS.isdisjoint(headers)
            or trace.body_size > MAX_BODY_CHARS
            or max(map(len, texts)) > MAX_BODY_CHARS
            or _suspect("\n".join(texts), self._secrets)
        ):  # the long way: redact and cut each text
            text = self._text
            headers = {name: self._header(name, value) for name, value in headers.items()}
            body, content = text(body, trace.body_size), text(content)
            plain_in = text(plain_in) if plain_in is not None else None
            plain_out = text(plain_out) if plain_out is not None else None
        route = trace.route
        return (
            time.time() - (time.perf_counter() - trace.started),  # at, seconds since the epoch
            trace.request_id,
            trace.method[:10],
            _target(trace.path, trace.query)[:2000],
            route.name if route else None,  # operation
            route.partner_id[:35] if route else None,
            _payment_id(trace),
            _consumer_key(trace),
            trace.status,
            trace.reason_code,
            round((trace.finished - trace.started) * 1_000_000),  # latency_us
            encrypted,
            headers,
            body,
            plain_in,
            content,
            plain_out,
            trace.explanation,
        )

    def _header(self, name: str, value: str) -> str:
        return REDACTED if name in _HIDDEN_HEADERS else self._text(value)

    def _text(self, text: str, size: int | None = None) -> str:
        """``text`` redacted, then cut to :data:`MAX_BODY_CHARS`; ``size`` is the original's
        length in bytes when the trace kept only its head."""
        text = redact(text, self._secrets)
        if len(text) > MAX_BODY_CHARS or (size is not None and size > MAX_BODY_CHARS):
            more = (size or len(text)) - MAX_BODY_CHARS
            text = _without_secret_head(text[:MAX_BODY_CHARS], self._secrets)
            text += f"\n[... {more} more]"
        return text


def _without_secret_head(text: str, secrets: Iterable[str]) -> str:
    """``text`` without a trailing start of one of ``secrets`` (a cut may split one)."""
    for secret in secrets:
        for length in range(min(len(secret) - 1, len(text)), 3, -1):
            if text.endswith(secret[:length]):
                return text[:-length] + REDACTED
    return text


def _target(path: bytes, query: bytes) -> str:
    raw = path.split(b"?", 1)[0] + (b"?" + query if query else b"")
    return raw.decode("latin-1")


def _decoded(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", errors="replace")


def _payment_id(trace: Trace) -> str | None:
    """The payment the answer names, else the id or reference the request named."""
    if trace.answered_id is not None:
        return trace.answered_id[:40]
    route = trace.route
    if route is not None and route.name in _PAYMENT_KEYS and route.key:
        return route.key[:40]
    return None


def _consumer_key(trace: Trace) -> str | None:
    if trace.admitted is not None:
        return trace.admitted.caller.consumer_key
    if trace.explanation is not None:  # refused: the key it claimed, if it parses
        claimed = _CONSUMER_KEY.search(trace.headers.get("authorization", ""))
        return claimed.group(1) if claimed else None
    return None
