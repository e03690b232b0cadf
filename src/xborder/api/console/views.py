"""The console's pages (GET): the home page's figures, payments, a payment, balances,
requests, a request, webhooks.

Each returns a template name and its context; they run off the event loop and read through
the same use cases and repositories as the admin API (plus :mod:`xborder.storage.console`
for searches no use case needs).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from xborder.api.admin_requests import entry_view, is_count
from xborder.api.admin_views import delivery_view, event_view
from xborder.api.balance import sheet_view
from xborder.api.console.web import Console
from xborder.api.schemas import payment_view, timestamp
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services import accounts, journal, webhooks
from xborder.services import payments as usecases
from xborder.services.journal_ports import JournalFilter
from xborder.storage import console as queries

PAGE = 100


def home_page(console: Console, _request: Request) -> tuple[str, dict[str, Any]]:
    """The figures ``/metrics`` serves: requests by status, payments by status, the outbox
    backlog and delivery failures, the writer's group size and commit latency."""
    return "home.html", {"figures": console.figures()}


def payments_page(console: Console, request: Request) -> tuple[str, dict[str, Any]]:
    """Search by id or reference; filter by partner, status, stage."""
    q = request.query_params
    search = queries.PaymentSearch(
        text=q.get("q") or None,
        partner_id=q.get("partner") or None,
        status=q.get("status") or None,
        stage=q.get("stage") or None,
    )
    rows = queries.find_payments(console.engine, search, PAGE)
    return "payments.html", {
        "rows": rows,
        "search": search,
        "statuses": [s.value for s in PaymentStatus],
        "stages": [s.value for s in PendingStage],
        "now": timestamp(console.admin.clock.now(), millis=True),
        "controllable": console.admin.clock_controllable,
    }


def payment_page(console: Console, request: Request) -> tuple[str, dict[str, Any]]:
    """A payment: its fields, status timeline, ledger, events, deliveries and requests."""
    partner_id, key = request.path_params["partner_id"], request.path_params["payment_id"]
    uow_factory = console.admin.uow_factory
    payment = usecases.get_payment(partner_id, key, uow_factory=uow_factory)
    with uow_factory(readonly=True) as uow:
        events = uow.events.since(partner_id, payment.id, 0, 1000)
    deliveries = webhooks.list_deliveries(partner_id, payment.id, uow_factory=uow_factory)
    touched = journal.list_requests(
        JournalFilter(payment=(payment.id, payment.transaction_reference)),
        limit=journal.MAX_PAGE,
        before=None,
        uow_factory=uow_factory,
    )
    document = payment_view(payment, retrieve=True)["payment"]
    return "payment.html", {
        "payment": payment,
        "fields": json.dumps(document, indent=2, sort_keys=True),
        "events": [event_view(e) for e in events],
        "ledger": queries.payment_ledger(console.engine, payment.id),
        "deliveries": [delivery_view(d) for d in deliveries],
        "requests": [entry_view(e) for e in touched],
    }


def balances_page(console: Console, _request: Request) -> tuple[str, dict[str, Any]]:
    """Every partner's settlement accounts with their balances."""
    admin = console.admin
    sheets = [
        (partner_id, sheet_view(sheet, balances=True), sheet.account.currency)
        for partner_id in queries.partners_with_accounts(console.engine)
        for sheet in accounts.list_accounts(
            partner_id, uow_factory=admin.uow_factory, clock=admin.clock
        )
    ]
    return "balances.html", {"sheets": sheets}


def requests_page(console: Console, request: Request) -> tuple[str, dict[str, Any]]:
    """The request journal, newest first; new entries arrive live."""
    q = request.query_params
    status = q.get("status", "")
    where = JournalFilter(
        partner_id=q.get("partner") or None,
        payment=(q["payment"],) if q.get("payment") else (),
        status=int(status) if is_count(status) and len(status) <= 3 else None,
    )
    before = q.get("before", "")
    uow_factory = console.admin.uow_factory
    head = journal.latest_ids(uow_factory=uow_factory)[0]  # before the listing: no gap
    entries = journal.list_requests(
        where,
        limit=PAGE,
        before=int(before) if before.isdigit() and len(before) < 18 else None,
        uow_factory=uow_factory,
    )
    return "requests.html", {
        # the live stream goes on from here: what was recorded while the page was being
        # built arrives over it, and nothing the page shows arrives twice
        "after": max([head, *(e.id for e in entries)]),
        "entries": [entry_view(e) for e in entries],
        "filters": {
            "partner": q.get("partner", ""),
            "payment": q.get("payment", ""),
            "status": status,
        },
        "next": entries[-1].id if len(entries) == PAGE else None,
        "live": not before,
    }


def request_page(console: Console, request: Request) -> tuple[str, dict[str, Any]]:
    """One journal entry with both bodies and the explanation of a refusal."""
    raw = request.path_params["entry_id"]
    entry = (
        journal.get_request(int(raw), uow_factory=console.admin.uow_factory)
        if raw.isdigit() and len(raw) < 18
        else None
    )
    if entry is None:
        return "error.html", {"message": f"no journal entry {raw} (never recorded, or pruned)"}
    view = entry_view(entry, full=True)
    return "request.html", {
        "entry": view,
        "headers": json.dumps(view["requestHeaders"], indent=2, sort_keys=True),
        "explanation": json.dumps(view["explanation"], indent=2) if view["explanation"] else "",
    }


def webhooks_page(console: Console, request: Request) -> tuple[str, dict[str, Any]]:
    """Registered webhooks and the latest delivery attempts."""
    uow_factory = console.admin.uow_factory
    partner = request.query_params.get("partner") or None
    records = webhooks.list_deliveries(partner, None, uow_factory=uow_factory)
    return "webhooks.html", {
        "targets": webhooks.list_webhooks(uow_factory=uow_factory),
        "deliveries": [delivery_view(d) for d in reversed(records[-PAGE:])],
        "partner": partner or "",
    }
