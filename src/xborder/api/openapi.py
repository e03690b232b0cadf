"""The OpenAPI 3.1 description of every path xborder answers (D21).

Built, not kept by hand: the operations from the routers' own tables
(:data:`xborder.api.routes.ENDPOINTS`, :data:`xborder.api.admin.ROUTES`), the request schema
from the request's field tables, every error response rendered by the one error table
(:mod:`xborder.api.openapi_errors`), the examples by the server's own views and codecs. Both
media types are described with XML's real element names. OAuth 1.0a has no OpenAPI security
type, so it is an ``apiKey`` in the ``Authorization`` header whose description says how to
sign. Served at ``GET /openapi.json`` (see :mod:`xborder.api.openapi_http`) and printed by
``xborder openapi``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from xborder import __version__
from xborder.api import admin, routes
from xborder.api import openapi_errors as errors
from xborder.api import openapi_examples as examples
from xborder.api.codecs import JSON, XML
from xborder.api.openapi_admin import (
    admin_operation,
    admin_schemas,
    metrics_operation,
    stream_operation,
)
from xborder.api.openapi_oauth2 import oauth2_paths
from xborder.api.openapi_schemas import components, ref
from xborder.api.openapi_service import service_paths
from xborder.api.payload_encryption import HEADER as ENCRYPTED_HEADER
from xborder.config import MAX_BODY_BYTES, Settings

OPENAPI_VERSION = "3.1.0"
Operation = dict[str, Any]

_OAUTH1 = (
    'Mastercard\'s OAuth 1.0a (D11): `Authorization: OAuth oauth_consumer_key="…",'
    'oauth_nonce="…",oauth_timestamp="…",oauth_signature_method="RSA-SHA256",'
    'oauth_version="1.0",oauth_body_hash="…",oauth_signature="…"`, the body hash being'
    " base64(SHA-256) of the bytes sent, the signature RSA-SHA256 over"
    " `METHOD&pct(url)&pct(sorted parameters)` with the project's signing key. Sign with"
    " Mastercard's oauth1-signer libraries or `xborder.client`. OpenAPI has no OAuth 1.0a"
    " type, hence apiKey: tools cannot compute the signature for you."
)
_PARAMETERS: dict[str, Any] = {
    "partner-id": {
        "name": "partner-id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": f"^{routes.PARTNER_ID.pattern}$"},
        "description": "At most 35 characters, no spaces (D8).",
    },
    "payment-id": {
        "name": "payment-id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": "The payment id (`rem_…`) or its transaction_reference (D2),"
        " percent-encoded (`%2F` included).",
    },
    "x-encrypted": {
        "name": ENCRYPTED_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "`true` (in any case, spaces around ignored): the body is the"
        " encrypted_payload wrapper, and a success answer is encrypted to the project's"
        " client-encryption certificate (D12). Any other value, like none, means plaintext.",
    },
}


def openapi_document(
    settings: Settings | None = None, *, admin_api: bool | None = None
) -> dict[str, Any]:
    """The description. Admin paths are present only when the admin API is on: ``admin_api``,
    else ``settings.admin_enabled``, else on. ``settings.public_url`` becomes the server."""
    admin_on = admin_api if admin_api is not None else settings is None or settings.admin_enabled
    paths: dict[str, dict[str, Operation]] = {}
    for name, method, template in routes.ENDPOINTS:
        paths.setdefault(template, {})[method.lower()] = _XBS[name](method)
    if admin_on:
        for method, template, _handler in admin.ROUTES:
            paths.setdefault(admin.PREFIX + template, {})[method.lower()] = admin_operation(
                method, template
            )
        paths[admin.PREFIX + admin.STREAM] = {"get": stream_operation()}
        paths["/metrics"] = {"get": metrics_operation()}  # behind the admin token too
    paths.update(service_paths())
    paths.update(oauth2_paths())  # D23
    public_url = settings.public_url if settings is not None else None
    document = {
        "openapi": OPENAPI_VERSION,
        "info": _info(),
        **({"servers": [{"url": public_url}]} if public_url else {}),
        "security": [{"oauth1": []}],
        "paths": paths,
        "components": {
            "schemas": {**components(), **admin_schemas()},
            "parameters": _PARAMETERS,
            "securitySchemes": {
                "oauth1": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": _OAUTH1,
                },
                "requestToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An OAuth 2.0 request token of an eu/uk project (D23).",
                },
                "adminBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "XBORDER_ADMIN_TOKEN (D17).",
                },
            },
        },
    }
    return copy.deepcopy(document)  # shares nothing with the module's tables


def _info() -> dict[str, Any]:
    return {
        "title": "xborder: Mastercard Cross-Border Services Cancel Payment API",
        "version": __version__,
        "description": "Payment, Retrieve and Cancel Payment (with the Balance API and the"
        " operator's admin API) as xborder serves them. JSON or XML: the answer's format"
        " follows Accept, else the request's Content-Type, else JSON (D9); XML element names"
        " equal JSON member names. Every error is the `Errors` envelope. Bodies are limited"
        f" to {MAX_BODY_BYTES} bytes.",
    }


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _content(
    name: str, json_examples: dict[str, Any], xml_examples: dict[str, Any], *, xml: bool = True
) -> dict[str, Any]:
    encrypted = ref("EncryptedPayloadDocument")
    content = {
        JSON.media_type: {
            "schema": {"anyOf": [ref(f"{name}Document"), encrypted]},
            "examples": json_examples,
        }
    }
    if xml:
        content[XML.media_type] = {
            "schema": {"anyOf": [ref(name), ref("EncryptedPayload")]},
            "examples": xml_examples,
        }
    return content


def _request_content(
    name: str, json_examples: dict[str, Any], xml_examples: dict[str, Any]
) -> dict[str, Any]:
    """A request body's content: ``text/xml`` is read as ``application/xml`` is (D9)."""
    content = _content(name, json_examples, xml_examples)
    content["text/xml"] = {"schema": content[XML.media_type]["schema"]}
    return content


def _success(
    description: str, content: dict[str, Any], links: dict[str, Any] | None = None
) -> dict[str, Any]:
    header = {
        "description": "`true` when the answer is encrypted (D12).",
        "schema": {"const": "true"},
    }
    response = {"description": description, "headers": {ENCRYPTED_HEADER: header}}
    return response | {"content": content} | ({"links": links} if links else {})


_PAYMENT_ID = "$response.body#/payment/id"
_SAME_PAYMENT = "$request.path.payment-id"


def _links(payment_id: str, *targets: tuple[str, str]) -> dict[str, Any]:
    """Links from an answer about one payment to the operations that act on it (the JSON
    answer's ``payment.id``, or the path's own ``payment-id``), for the same partner."""
    return {
        name: {
            "operationId": operation_id,
            "parameters": {"partner-id": "$request.path.partner-id", "payment-id": payment_id},
            "description": f"{name} the same payment.",
        }
        for name, operation_id in targets
    }


_RETRIEVE = ("Retrieve", "retrievePayment")
_CANCELS = (("Cancel", "cancelPaymentPost"), ("CancelGet", "cancelPaymentGet"))


def _operation(
    operation_id: str, summary: str, description: str, *, tag: str = "Payments"
) -> Operation:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": [_param("partner-id"), _param(ENCRYPTED_HEADER)],
    }


def _create(_method: str) -> Operation:
    request_json, request_xml = examples.payment_request()
    answer = _content("Payment", *examples.payment_answer(retrieve=False))
    body = _request_content("PaymentRequest", request_json, request_xml)
    return {
        **_operation(
            "createPayment",
            "Create a payment",
            "Payment API (docs/reference.md §2). A"
            " reference repeated with the same payload answers the existing payment"
            " (D7); a refused payment is answered with Errors and stored REJECTED.",
        ),
        "requestBody": {"required": True, "content": body},
        "responses": {
            "200": _success("The payment", answer, _links(_PAYMENT_ID, _RETRIEVE, *_CANCELS)),
            **errors.error_responses(
                (*errors.GATEWAY, *errors.REQUEST, *errors.BODY, *errors.CREATE)
            ),
        },
    }


def _retrieve(operation_id: str, summary: str, samples: tuple[BaseException, ...]) -> Operation:
    answer = _content("Payment", *examples.payment_answer(retrieve=True))
    return {
        **_operation(
            operation_id,
            summary,
            "Retrieve (docs/reference.md §4). HEAD answers the same without a body (D19).",
        ),
        "responses": {
            "200": _success("The payment", answer, _links(_PAYMENT_ID, *_CANCELS)),
            **errors.error_responses((*errors.GATEWAY, *errors.REQUEST, *samples)),
        },
    }


def _get(_method: str) -> Operation:
    operation = _retrieve("retrievePayment", "Retrieve a payment by id", errors.RETRIEVE)
    operation["parameters"].insert(1, _param("payment-id"))
    return operation


def _find(_method: str) -> Operation:
    operation = _retrieve("findPayment", "Retrieve a payment by transaction reference", errors.FIND)
    query = {
        "name": "ref",
        "in": "query",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
    }
    operation["parameters"].insert(1, query | {"description": "The transaction_reference."})
    return operation


def _cancel(method: str) -> Operation:
    request_json, request_xml = examples.cancel_request()
    body = _request_content("CancelPaymentRequest", request_json, request_xml)
    body[JSON.media_type]["schema"]["anyOf"][0] = ref("CancelPaymentRequestJson")
    canonical = (
        "the canonical method" if method == "POST" else "as the Cancel Payment page names it"
    )
    operation = _operation(
        f"cancelPayment{method.title()}",
        f"Cancel a payment ({method}, {canonical})",
        "Cancel Payment (D1, D3, D5): allowed while PENDING and D3 permits. The body is"
        " optional; `HEAD` on this path is 405 and changes nothing (D19).",
    )
    operation["parameters"].insert(1, _param("payment-id"))
    return {
        **operation,
        "requestBody": {"required": False, "content": body},
        "responses": {
            "200": _success(
                "Cancelled",
                _content("CancelPayment", *examples.cancel_answer()),
                _links(_SAME_PAYMENT, _RETRIEVE, *_CANCELS),
            ),
            **errors.error_responses(
                (*errors.GATEWAY, *errors.REQUEST, *errors.BODY, *errors.CANCEL)
            ),
        },
    }


def _balance(
    operation_id: str, summary: str, schema: dict[str, Any], samples: tuple[BaseException, ...]
) -> Operation:
    answer = {JSON.media_type: {"schema": {"anyOf": [schema, ref("EncryptedPayloadDocument")]}}}
    operation = _operation(
        operation_id, summary, "Balance API (docs/reference.md §12, D16); JSON only.", tag="Balance"
    )
    return {
        **operation,
        "responses": {
            "200": _success(summary, answer),
            **errors.error_responses((*errors.GATEWAY, *errors.REQUEST, *samples), xml=False),
        },
    }


def _accounts(_method: str) -> Operation:
    schema = {"type": "array", "items": ref("Account")}
    operation = _balance(
        "listAccounts", "The partner's settlement accounts", schema, errors.ACCOUNTS
    )
    flag = {
        "type": "string",
        "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$",
        "default": "false",
    }
    operation["parameters"].insert(1, {"name": "include_balance", "in": "query", "schema": flag})
    return operation


def _account(_method: str) -> Operation:
    operation = _balance(
        "getAccount", "One settlement account with its balances", ref("Account"), errors.ACCOUNT
    )
    account_id = {
        "name": "account-id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    operation["parameters"].insert(1, account_id)
    return operation


_XBS: dict[str, Callable[[str], Operation]] = {
    "create": _create,
    "get": _get,
    "find": _find,
    "cancel": _cancel,
    "accounts": _accounts,
    "account": _account,
}
"""One builder per handler of :data:`xborder.api.routes.ENDPOINTS`."""
