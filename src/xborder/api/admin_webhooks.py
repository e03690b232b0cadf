"""Webhooks in the admin API (D14, D18): targets per partner id, delivery attempts, and a
redelivery.

=======  ======================================  ===========================================
method   path                                    body
=======  ======================================  ===========================================
GET      /webhooks                               (none)
PUT      /partners/{partner_id}/webhook          ``{"url": "https://…", "secret": "…"}``
GET      /deliveries?partner_id=&payment_id=     (none)
POST     /events/{event_id}/redeliver            (none)
=======  ======================================  ===========================================

Any partner id may have a webhook, bound to a project or not (D18). The secret is optional (a
non-empty string when given, never null) and never shown again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xborder.api.admin_requests import is_count
from xborder.api.admin_views import delivery_view
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.services import webhooks
from xborder.services.errors import EventNotRedeliverable, InvalidWebhookPartner, InvalidWebhookUrl

if TYPE_CHECKING:
    from xborder.api.admin import AdminServices


def list_targets(s: AdminServices, _p: dict[str, str], _b: Any, _q: dict[str, str]) -> Any:
    """``GET /webhooks``."""
    targets = webhooks.list_webhooks(uow_factory=s.uow_factory)
    return {
        "webhooks": [
            {"partnerId": partner_id, "url": url, "signed": signed}
            for partner_id, url, signed in targets
        ]
    }


def set_target(
    s: AdminServices, p: dict[str, str], body: dict[str, Any], _q: dict[str, str]
) -> Any:
    """``PUT /partners/{partner_id}/webhook``."""
    url, secret = body.get("url"), body.get("secret")
    if not isinstance(url, str):
        raise ValidationFailed(
            [FieldProblem(ProblemKind.MISSING if url is None else ProblemKind.VALUE, "url")]
        )
    # optional, but a string when given: an explicit null is refused, as the description says
    if "secret" in body and (not isinstance(secret, str) or not secret):
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "secret")])
    try:
        s.written(webhooks.set_webhook, p["partner_id"], url, secret)
    except InvalidWebhookUrl as exc:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "url")]) from exc
    except InvalidWebhookPartner as exc:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "partner_id")]) from exc
    return {"partnerId": p["partner_id"], "url": url.strip(), "signed": secret is not None}


def list_deliveries(s: AdminServices, _p: dict[str, str], _b: Any, q: dict[str, str]) -> Any:
    """``GET /deliveries``: attempts, oldest first."""
    records = webhooks.list_deliveries(
        q.get("partner_id") or None, q.get("payment_id") or None, uow_factory=s.uow_factory
    )
    return {"deliveries": [delivery_view(r) for r in records]}


def redeliver(s: AdminServices, p: dict[str, str], _b: Any, _q: dict[str, str]) -> Any:
    """``POST /events/{event_id}/redeliver``."""
    raw = p["event_id"]
    try:
        if not is_count(raw):
            raise EventNotRedeliverable(raw)
        s.written(webhooks.redeliver, int(raw))
    except EventNotRedeliverable as exc:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "event_id")]) from exc
    return {"eventId": int(raw), "queued": True}
