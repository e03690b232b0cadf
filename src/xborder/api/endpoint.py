"""The ASGI endpoint that serves every XBS path: read, gate, decode, run, encode, answer.

A request is one transaction (issue 12). Its path, from the socket to the commit:

1. ``__call__``: negotiate the answer's format, route the raw path, read the body;
2. :meth:`Gate.admit`: verify the credentials against the cached registry, decrypt (no I/O);
3. the request's *unit* goes to the writer (:mod:`xborder.storage.writer`), which commits it
   with the others of its group; a read without bookkeeping (an unsigned retrieve) runs in a
   read transaction of its own instead, never waiting for the writer;
4. in the unit, :meth:`Gate.record` (registry still current, nonce recorded), then the body
   is decoded and the use case runs on the unit's savepoints; a refusal from here on is the
   unit's *answer*, so the nonce stays consumed;
5. after the commit, the document is encoded, sealed (JWE) and sent.

On SQLite all of it runs on the event loop (its transactions take microseconds); on
PostgreSQL the writer's thread and a few reader threads wait on the network instead.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from starlette.types import Receive, Scope, Send

from xborder.api import problems
from xborder.api.codecs import JSON, Codec
from xborder.api.errors import envelope, render_error
from xborder.api.exchange import Observer, Trace
from xborder.api.gate import Admitted, Gate, Incoming
from xborder.api.negotiation import codec_for_content_type, response_codec
from xborder.api.routes import Route, Services, decode_body, json_only, match, new_request_id, run
from xborder.clock import Instant
from xborder.config import MAX_BODY_BYTES
from xborder.errors import XborderError
from xborder.services.errors import StaleRegistry
from xborder.services.payments import UowFactory
from xborder.storage.reader import Reader
from xborder.storage.writer import Writer

log = logging.getLogger("xborder.api")

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

READS = frozenset({"get", "find", "accounts", "account"})
"""Endpoints that change nothing: without a nonce to record they skip the writer."""

ADMISSIONS = 3
"""How often a request is admitted again when the registry changed under it."""


class XbsEndpoint:
    """Serves the XBS API; every failure is answered in the ``Errors`` envelope."""

    def __init__(
        self,
        services: Services,
        gate: Gate,
        writer: Writer,
        reader: Reader,
        *,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        max_body: int = MAX_BODY_BYTES,
        observer: Observer | None = None,
    ) -> None:
        self.services = services
        self.headers = list(headers)  # on every answer (the unsigned-mode warning)
        self.gate = gate
        self.writer = writer
        self.reader = reader
        self.max_body = max_body
        self.observer = observer  # issue 14: the request journal and the metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = new_request_id()
        trace = Trace(time.perf_counter()) if self.observer else None
        headers, last_headers = _request_headers(scope)
        body = b""
        codec: Codec = JSON
        try:
            # Negotiate first, so that even a routing error is answered in the client's format.
            codec = response_codec(headers.get("accept"), headers.get("content-type"))
            raw_path = _raw_path(scope)
            codec = JSON if json_only(raw_path) else codec  # its routing errors too
            route = match(raw_path, scope["method"], scope.get("query_string", b""))
            if trace is not None:
                trace.route = route
            body = await _read_body(receive, headers, self.max_body)
            incoming = Incoming(
                scope["method"], _url(scope, headers), route.partner_id, last_headers, body
            )
            answer = await self._serve(route, incoming, codec, request_id, trace)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Errors envelope
            answer = _error_answer(exc, codec, request_id)
            if trace is not None:
                trace.fail(exc)
        status, response_headers, content = answer
        if self.headers:
            response_headers += self.headers
        scope.setdefault("state", {})["request_id"] = request_id
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": content})
        if trace is not None and self.observer is not None:
            trace.finish(scope, request_id, last_headers, body)
            trace.status, trace.response_headers, trace.content = answer
            self.observer(trace)

    async def _serve(
        self, route: Route, incoming: Incoming, codec: Codec, request_id: str, trace: Trace | None
    ) -> Answer:
        for attempt in range(1, ADMISSIONS + 1):
            admitted = self.gate.admit(incoming)
            now = Instant(self.services.clock.now())  # D22: read once, outside the transaction
            unit = functools.partial(_unit, self.gate, route, admitted, self.services, now)
            try:
                if admitted.nonce is None and route.name in READS:
                    result = await self.reader.run(unit)
                else:
                    result = await self.writer.run(unit)
            except StaleRegistry:
                if attempt == ADMISSIONS:
                    raise
                continue  # decide again on the registry as it is now
            self.gate.settle(admitted)
            if trace is not None:
                trace.admitted = admitted
                if isinstance(result, BaseException):
                    trace.fail(result)
                else:
                    trace.ok(result)
            if isinstance(result, BaseException):
                return _error_answer(result, codec, request_id)
            plain = codec.encode(result)
            content, extra = self.gate.seal(admitted.caller, plain, codec.media_type)
            if trace is not None and content is not plain:
                trace.plain = plain
            return 200, _headers(codec.media_type, content, extra), content
        raise AssertionError("unreachable")  # pragma: no cover


def _unit(
    gate: Gate,
    route: Route,
    admitted: Admitted,
    services: Services,
    now: Instant,
    factory: UowFactory,
) -> dict[str, Any] | XborderError:
    """The request's work inside its transaction: bookkeeping first, then the use case.

    A refusal after the gate is returned, not raised, so that the writer keeps what the
    bookkeeping recorded (the nonce) and commits it with the rest of the group.
    """
    with factory(readonly=admitted.nonce is None) as uow:
        gate.record(uow, admitted)
        uow.commit()
    try:
        payload = decode_body(route, admitted.body, codec_for_content_type(admitted.content_type))
        return run(route, payload, Services(factory, now, services.rules))
    except XborderError as exc:
        return exc


def _error_answer(exc: BaseException, codec: Codec, request_id: str) -> Answer:
    rendered = render_error(exc)
    if rendered.status >= 500:
        log.error("unexpected failure (request %s)", request_id, exc_info=exc)
    elif not isinstance(exc, XborderError):
        log.warning("unclassified error %s (request %s)", type(exc).__name__, request_id)
    content = codec.encode(envelope(rendered, request_id))
    return rendered.status, _headers(codec.media_type, content, dict(rendered.headers)), content


def _headers(media_type: str, content: bytes, extra: dict[str, str]) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", media_type.encode("latin-1")),
        (b"content-length", str(len(content)).encode("latin-1")),
    ]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items())
    return headers


def _request_headers(scope: Scope) -> tuple[dict[str, str], dict[str, str]]:
    """The request's headers by lower-case name: the first value of each (what Starlette's
    ``Headers.get`` answers) and the last (what ``dict(Headers)`` holds, the gate's view)."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        last[name] = value
        first.setdefault(name, value)
    return first, last


def _raw_path(scope: Scope) -> bytes:
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return str(scope["path"]).encode("utf-8")
    return raw.split(b"?", 1)[0]


def _url(scope: Scope, headers: dict[str, str]) -> str:
    """The URL as the client addressed it (scheme, Host header, raw path and query)."""
    scheme = scope.get("scheme", "http")
    host = headers.get("host") or _server_host(scope)
    url = f"{scheme}://{host}{_raw_path(scope).decode('latin-1')}"
    query: bytes = scope.get("query_string", b"")
    return f"{url}?{query.decode('latin-1')}" if query else url


def _server_host(scope: Scope) -> str:
    server: Any = scope.get("server")
    return f"{server[0]}:{server[1]}" if server else "localhost"


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise problems.BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise problems.MalformedBody("client disconnected")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise problems.BodyTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
