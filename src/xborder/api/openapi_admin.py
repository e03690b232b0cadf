"""The admin API (D17) and Balance API (D16) parts of the OpenAPI description.

One entry of :data:`OPERATIONS` per route of :data:`xborder.api.admin.ROUTES`; the tests hold
the two to each other. Admin requests and answers are JSON only, with the admin bearer token.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from xborder.api import openapi_errors as errors
from xborder.api.admin import DECIMAL
from xborder.api.admin_requests import QUERY_DIGITS
from xborder.api.balance import ACCOUNT_STATE, OPENING_TIME
from xborder.api.codecs import JSON
from xborder.api.openapi_schemas import ref
from xborder.domain import errors as domain

Schema = dict[str, Any]

_TEXT: Schema = {"type": "string"}
_STAMP: Schema = {"type": "string", "format": "date-time"}
_NUMBER: Schema = {
    "type": ["string", "integer"],
    "pattern": f"^{DECIMAL.pattern}$",
    "minimum": -(10**18) + 1,
    "maximum": 10**18 - 1,
    "description": "A decimal as text, or a whole number.",
}


class AdminOperation(NamedTuple):
    """How one admin route is described."""

    operation_id: str
    summary: str
    body: Schema | None
    answer: Schema
    samples: tuple[BaseException, ...]


def _object(required: list[str], **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    return schema | ({"required": required} if required else {})


def _payment_action(verb: str, body: Schema | None = None) -> AdminOperation:
    coded = (*errors.ADMIN_BODY, errors.value_problem("code")) if body else ()
    samples = (*errors.ADMIN_PAYMENT, *coded)
    return AdminOperation(
        f"{verb}Payment", f"{verb.title()} a payment", body, ref("PaymentDocument"), samples
    )


_PAYMENT = "/partners/{partner_id}/payments/{payment_id}"
_CODE = _object(
    ["code"],
    code={
        "type": ["string", "integer"],
        "pattern": "^[0-9]{6}$",
        "minimum": 100000,  # a JSON number has no leading zeros: six digits
        "maximum": 999999,
    },
)
_COUNT: Schema = {"type": "string", "pattern": f"^[0-9]{{1,{QUERY_DIGITS}}}$"}
_STEPS = {"type": "integer", "description": "Lifecycle steps run."}
_WEBHOOK: Schema = {
    "type": "object",
    "required": ["partnerId", "url", "signed"],
    "properties": {"partnerId": _TEXT, "url": _TEXT, "signed": {"type": "boolean"}},
}
_JOURNAL_ENTRY: Schema = {
    "type": "object",
    "required": ["id", "at", "method", "path", "status"],
    "description": "A request and its answer; secrets redacted. The single entry adds "
    "requestHeaders, requestBody, requestPlain, responseBody, responsePlain, explanation.",
}
OPERATIONS: dict[tuple[str, str], AdminOperation] = {
    ("POST", "/partners/{partner_id}/accounts/{currency}/fund"): AdminOperation(
        "fundAccount",
        "Fund a settlement account; queued payments are released in order",
        _object(["amount"], amount=_NUMBER),
        _object(
            ["account", "released"],
            account=ref("Account"),
            released={"type": "array", "items": _TEXT},
        ),
        (
            *errors.ADMIN_BODY,
            errors.value_problem("amount"),
            domain.ActionRefused("fund", "partner SANDBOX_1 is a sandbox partner"),
        ),
    ),
    ("POST", _PAYMENT + "/advance"): _payment_action("advance"),
    ("POST", _PAYMENT + "/settle"): _payment_action("settle"),
    ("POST", _PAYMENT + "/reject"): _payment_action("reject", _CODE),
    ("POST", _PAYMENT + "/return"): _payment_action("return", _CODE),
    ("GET", "/clock"): AdminOperation(
        "getClock",
        "The server's clock",
        None,
        _object(["now", "controllable"], now=_STAMP, controllable={"type": "boolean"}),
        errors.ADMIN,
    ),
    ("POST", "/clock/advance"): AdminOperation(
        "advanceClock",
        "Move the controllable clock forward, then run due steps",
        _object(["seconds"], seconds=_NUMBER),
        _object(["now", "steps"], now=_STAMP, steps=_STEPS),
        (*errors.ADMIN_BODY, errors.value_problem("seconds"), errors.CLOCK_REFUSED),
    ),
    ("POST", "/scheduler/run"): AdminOperation(
        "runScheduler",
        "Run every lifecycle step due now",
        None,
        _object(["steps"], steps=_STEPS),
        errors.ADMIN,
    ),
    ("GET", "/events"): AdminOperation(
        "listEvents",
        "Status-change events of the outbox (D14)",
        None,
        _object(["events"], events={"type": "array", "items": ref("StatusEvent")}),
        (*errors.ADMIN, errors.value_problem("after")),
    ),
    ("GET", "/oauth2/grants"): AdminOperation(
        "listPendingGrants",
        "Authorization-code requests waiting for an operator's consent (D23)",
        None,
        _object(["grants"], grants={"type": "array", "items": ref("Grant")}),
        errors.ADMIN,
    ),
    ("POST", "/oauth2/grants/{grant_id}/approve"): AdminOperation(
        "approveGrant",
        "Consent to a pending grant: its client may then collect its code (D23)",
        None,
        _object(["grant"], grant=ref("Grant")),
        errors.ADMIN_GRANT,
    ),
    ("POST", "/oauth2/grants/{grant_id}/deny"): AdminOperation(
        "denyGrant",
        "Refuse a pending grant: its client is redirected with access_denied (D23)",
        None,
        _object(["grant"], grant=ref("Grant")),
        errors.ADMIN_GRANT,
    ),
    ("GET", "/requests"): AdminOperation(
        "listRequests",
        "The request journal, newest first (issue 14)",
        None,
        _object(
            ["requests"],
            requests={"type": "array", "items": _JOURNAL_ENTRY},
            next={"type": "integer", "description": "``before`` of the next page"},
        ),
        (*errors.ADMIN, errors.value_problem("status")),
    ),
    ("GET", "/requests/{entry_id}"): AdminOperation(
        "getRequest",
        "One journal entry with headers, bodies and the explanation of a refusal",
        None,
        _JOURNAL_ENTRY,
        errors.ADMIN,
    ),
    ("GET", "/webhooks"): AdminOperation(
        "listWebhooks",
        "Webhooks per partner id, bound or not (D18)",
        None,
        _object(["webhooks"], webhooks={"type": "array", "items": _WEBHOOK}),
        errors.ADMIN,
    ),
    ("PUT", "/partners/{partner_id}/webhook"): AdminOperation(
        "setWebhook",
        "Register a partner id's webhook; a sandbox partner needs no binding (D18)",
        _object(["url"], url={"type": "string", "format": "uri"}, secret=_TEXT),
        _WEBHOOK,
        (*errors.ADMIN_BODY, errors.value_problem("url")),
    ),
    ("GET", "/deliveries"): AdminOperation(
        "listDeliveries",
        "Webhook delivery attempts, oldest first (D14)",
        None,
        _object(["deliveries"], deliveries={"type": "array", "items": {"type": "object"}}),
        errors.ADMIN,
    ),
    ("POST", "/events/{event_id}/redeliver"): AdminOperation(
        "redeliverEvent",
        "Queue a finished status-change event again, with fresh attempts",
        None,
        _object(["eventId", "queued"], eventId={"type": "integer"}, queued={"type": "boolean"}),
        (*errors.ADMIN, errors.value_problem("event_id")),
    ),
}

_QUERIES: dict[str, tuple[tuple[str, Schema], ...]] = {
    "/events": (
        ("partner_id", _TEXT),
        ("payment_id", _TEXT),
        ("after", {**_COUNT, "default": "0"}),
        ("limit", {**_COUNT, "default": "100"}),
    ),
    "/deliveries": (("partner_id", _TEXT), ("payment_id", _TEXT)),
    "/requests": (
        ("partner_id", _TEXT),
        ("payment", _TEXT),
        ("status", _COUNT),
        ("since", _STAMP),
        ("before", _COUNT),
        ("limit", {**_COUNT, "default": "50"}),
    ),
}


def admin_operation(method: str, template: str) -> dict[str, Any]:
    """The description of one admin route."""
    spec = OPERATIONS[(method, template)]
    names = [part[1:-1] for part in template.split("/") if part.startswith("{")]
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _TEXT} for name in names
    ]
    parameters += [
        {"name": name, "in": "query", "schema": schema}
        for name, schema in _QUERIES.get(template, ())
    ]
    operation: dict[str, Any] = {
        "operationId": spec.operation_id,
        "summary": spec.summary,
        "tags": ["Admin"],
        "security": [{"adminBearer": []}],
        "parameters": parameters,
        "responses": {
            "200": {"description": "Done", "content": {JSON.media_type: {"schema": spec.answer}}},
            **errors.error_responses(spec.samples, xml=False),
        },
    }
    if spec.body is not None:
        content = {JSON.media_type: {"schema": spec.body}}
        operation["requestBody"] = {"required": True, "content": content}
    return operation


def stream_operation() -> dict[str, Any]:
    """``GET /stream``: the admin API's Server-Sent Events (issue 14)."""
    stream = {"type": "string", "description": "event: request|status|delivery, data: JSON"}
    seconds = {"type": "string", "pattern": "^[0-9.]+$", "description": "End after N seconds."}
    return {
        "operationId": "streamActivity",
        "summary": "Live stream of new requests, status changes and webhook deliveries",
        "tags": ["Admin"],
        "security": [{"adminBearer": []}],
        "parameters": [{"name": "max_seconds", "in": "query", "schema": seconds}],
        "responses": {
            "200": {"description": "Events", "content": {"text/event-stream": {"schema": stream}}},
            **errors.error_responses(
                (*errors.ADMIN, errors.value_problem("max_seconds")), xml=False
            ),
        },
    }


def metrics_operation() -> dict[str, Any]:
    """``GET /metrics``: Prometheus text, behind the admin token (issue 14)."""
    text = {"type": "string", "description": "Prometheus text exposition format 0.0.4"}
    return {
        "operationId": "metrics",
        "summary": "Request, payment and webhook metrics for Prometheus",
        "tags": ["Service"],
        "security": [{"adminBearer": []}],
        "responses": {
            "200": {"description": "Metrics", "content": {"text/plain": {"schema": text}}},
            **errors.error_responses(errors.ADMIN, xml=False),
        },
    }


def admin_schemas() -> dict[str, Schema]:
    """The Balance API's account and the admin API's event and grant."""
    money = ref("Money")
    details = [
        "openingBalance",
        "processedAmount",
        "reservedBalance",
        "availableBalance",
        "settlementAccountBalance",
        "queuedBalance",
        "thresholdAmount",
    ]
    account = _object(
        ["accountId", "accountState"],
        accountId=_TEXT,
        accountState={"const": ACCOUNT_STATE},
        openingBalanceTimestamp={"type": "string", "examples": [OPENING_TIME]},
        balanceAsOfTimestamp=_STAMP,
        balanceDetails=_object([], **dict.fromkeys(details, money)),
    )
    nullable_text: Schema = {"type": ["string", "null"]}
    event = _object(
        ["id", "eventRef", "paymentId", "partnerId", "status", "occurredAt"],
        id={"type": "integer"},
        eventRef=_TEXT,
        paymentId=_TEXT,
        partnerId=_TEXT,
        transactionReference=_TEXT,
        previousStatus=nullable_text,
        status=_TEXT,
        pendingStage=nullable_text,
        occurredAt=_STAMP,
        errorCode=nullable_text,
        errorMessage=nullable_text,
        deliveredAt={"type": ["string", "null"], "format": "date-time"},
    )
    grant = _object(
        ["grantId", "consumerKey", "redirectUri", "status", "createdAt"],
        grantId=_TEXT,
        consumerKey=_TEXT,
        redirectUri=_TEXT,
        status={"enum": ["PENDING", "APPROVED", "DENIED", "ISSUED"]},
        createdAt=_STAMP,
    )
    return {"Account": account, "StatusEvent": event, "Grant": grant}
