"""``GET /admin/v1/stream``: Server-Sent Events of new requests, status changes and webhook
deliveries (issue 14).

The stream reads the database (the journal, the outbox, the delivery attempts) about once a
second, so it sees what every server process recorded, and starts at what is newest when it
opens. A row whose id was taken before a newer row's but committed after it (two processes on
PostgreSQL) is still sent, late: each feed is a :class:`~xborder.services.following.Follower`.
Each event is ``event: request|status|delivery`` with a JSON ``data`` line (the admin API's
views); a comment line keeps idle connections open. ``?max_seconds=N`` ends the
stream after N seconds (for scripts and tests).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from xborder.api.admin_requests import entry_view
from xborder.api.admin_views import delivery_view, event_view
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.services import journal
from xborder.services.following import Follower
from xborder.services.journal_ports import segment_of

if TYPE_CHECKING:
    from xborder.api.admin import AdminServices

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
BATCH = 100

Cursor = tuple[int, int, int]


def stream_endpoint(
    services: AdminServices,
    authorise: Callable[[Request], None],
    refuse: Callable[[BaseException], Response],
) -> Callable[[Request], Any]:
    """The SSE endpoint; ``authorise`` raises when the caller lacks the admin credential."""

    async def serve(request: Request) -> Response:
        try:
            authorise(request)
            limit = _max_seconds(request.query_params.get("max_seconds"))
            start = await run_in_threadpool(journal.latest_ids, uow_factory=services.uow_factory)
        except Exception as exc:  # noqa: BLE001 - refused like any admin call
            return refuse(exc)
        headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
        return StreamingResponse(
            events(services, start, limit), media_type="text/event-stream", headers=headers
        )

    return serve


async def events(
    services: AdminServices, cursor: Cursor, limit: float | None
) -> AsyncIterator[str]:
    """The stream's text, from ``cursor`` on, until ``limit`` seconds passed (if given)."""
    feeds = Feeds(cursor)
    ends = None if limit is None else time.monotonic() + limit
    quiet_since = time.monotonic()
    yield ": xborder live stream\n\n"
    while ends is None or time.monotonic() < ends:
        chunks = await run_in_threadpool(news, services, feeds)
        if chunks:
            quiet_since = time.monotonic()
            yield "".join(chunks)
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_SECONDS)


class Feeds:
    """Where a stream stands in each of its three feeds."""

    def __init__(self, cursor: Cursor) -> None:
        last_entry, last_event, last_delivery = cursor
        self.entries = Follower(last_entry, key=segment_of)
        self.events = Follower(last_event)
        self.deliveries = Follower(last_delivery)


def news(services: AdminServices, feeds: Feeds) -> list[str]:
    """What was committed since the last poll, in each feed: late rows first."""
    with services.uow_factory(readonly=True) as uow:
        entries = uow.journal.entries_of_segments(feeds.entries.gaps()[:BATCH])
        entries += uow.journal.entries_after(feeds.entries.last, BATCH)
        changes = uow.events.among(feeds.events.gaps()[:BATCH])
        changes += uow.events.since(None, None, feeds.events.last, BATCH)
        deliveries = uow.journal.deliveries_among(feeds.deliveries.gaps()[:BATCH])
        deliveries += uow.journal.deliveries_after(feeds.deliveries.last, BATCH)
    feeds.entries.saw(e.id for e in entries)
    feeds.events.saw(e.id for e in changes)
    feeds.deliveries.saw(d.id for d in deliveries)
    chunks = [_sse("request", e.id, entry_view(e)) for e in entries]
    chunks += [_sse("status", e.id, event_view(e)) for e in changes]
    chunks += [_sse("delivery", d.id, delivery_view(d)) for d in deliveries]
    return chunks


def _sse(kind: str, ident: int, document: dict[str, Any]) -> str:
    return f"id: {kind}-{ident}\nevent: {kind}\ndata: {json.dumps(document)}\n\n"


def _max_seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "max_seconds")])
    return value
