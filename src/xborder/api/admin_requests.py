"""The request journal in the admin API (issue 14): ``GET /requests`` and ``/requests/{id}``.

``GET /requests?partner_id=&payment=&status=&since=&limit=&before=`` lists entries newest
first; ``payment`` matches the payment id or reference a request named or answered with;
``since`` is an ISO 8601 instant; ``next`` is the ``before`` of the following page (null on
the last). ``GET /requests/{id}`` adds the headers, both bodies (as sent and, when JWE was
used, decrypted) and, for a refused authentication, the explanation.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xborder.api import problems
from xborder.api.schemas import timestamp
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.services import journal
from xborder.services.journal_ports import JournalEntry, JournalFilter

if TYPE_CHECKING:
    from xborder.api.admin import AdminServices

DEFAULT_PAGE = 50


def list_requests(s: AdminServices, _p: dict[str, str], _b: Any, q: dict[str, str]) -> Any:
    """The ``GET /requests`` handler."""
    limit = min(_int(q, "limit") or DEFAULT_PAGE, journal.MAX_PAGE)
    where = JournalFilter(
        partner_id=q.get("partner_id") or None,
        payment=(q["payment"],) if q.get("payment") else (),
        status=_int(q, "status"),
        since=_instant(q, "since"),
    )
    entries = journal.list_requests(
        where, limit=limit, before=_int(q, "before"), uow_factory=s.uow_factory
    )
    more = len(entries) == limit
    return {
        "requests": [entry_view(e) for e in entries],
        "next": entries[-1].id if more and entries else None,
    }


def get_request(s: AdminServices, p: dict[str, str], _b: Any, _q: dict[str, str]) -> Any:
    """The ``GET /requests/{entry_id}`` handler."""
    raw = p["entry_id"]
    entry = journal.get_request(int(raw), uow_factory=s.uow_factory) if is_count(raw) else None
    if entry is None:
        raise problems.UnknownRoute()
    return entry_view(entry, full=True)


def entry_view(entry: JournalEntry, *, full: bool = False) -> dict[str, Any]:
    """A journal entry as the admin API (and the live stream) shows it."""
    view: dict[str, Any] = {
        "id": entry.id,
        "at": timestamp(entry.at, millis=True),
        "requestId": entry.request_id,
        "method": entry.method,
        "path": entry.path,
        "operation": entry.operation,
        "partnerId": entry.partner_id,
        "paymentId": entry.payment_id,
        "consumerKey": entry.consumer_key,
        "status": entry.status,
        "reasonCode": entry.reason_code,
        "latencyMs": round(entry.latency_us / 1000, 3),
        "encrypted": entry.encrypted,
    }
    if full:
        view["requestHeaders"] = json.loads(entry.request_headers)
        view["requestBody"] = entry.request_body
        view["requestPlain"] = entry.request_plain
        view["responseBody"] = entry.response_body
        view["responsePlain"] = entry.response_plain
        view["explanation"] = json.loads(entry.explanation) if entry.explanation else None
    return view


def _int(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not is_count(raw):  # an empty value too: the description allows digits only (D21)
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, name)])
    return int(raw)


QUERY_DIGITS = 18
"""At most this many ASCII digits in a count or an id of the admin API's queries: every such
number fits the database's 64-bit integers (D21: what the description allows never fails)."""


def is_count(raw: str) -> bool:
    """ASCII digits that fit a 64-bit integer (``str.isdigit`` alone takes "²" too)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= QUERY_DIGITS


def _instant(query: dict[str, str], name: str) -> datetime | None:
    """An RFC 3339 date-time, as the description says (D21): a date, a ``T``, a time and an
    offset; Python's ``fromisoformat`` alone would also take a bare date or no offset."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        if not (raw.isascii() and len(raw) >= 20 and raw[10] in "Tt"):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1] in "Zz" else raw)
    except ValueError as exc:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, name)]) from exc
    if value.tzinfo is None:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, name)])
    return value
