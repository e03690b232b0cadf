"""The JSON Schemas (OpenAPI 3.1 ``components.schemas``) of xborder's wire documents.

The ``paymentrequest`` schema is read off the request's own tables: its members and their
nesting from :data:`xborder.domain.request_shape.SCHEMA`, lengths and value lists from
:data:`xborder.domain.field_rules.RULES`. Statuses and stages come from
:mod:`xborder.domain.states`. XML uses the same element names as JSON (D10); a schema that is
a document root carries ``xml.name`` = the root element, and JSON wraps it in an object with
one member of that name. Repeated XML elements (``data_field``, ``Error``) are unwrapped
arrays named after their property, as the codec reads and writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xborder.api.payload_encryption import VALUE, WRAPPER
from xborder.domain import field_checks as checks
from xborder.domain.field_rules import PAYMENT_TYPES, PURPOSES_OF_PAYMENT, RULES, Context
from xborder.domain.request import ROOT as PAYMENT_REQUEST
from xborder.domain.request_shape import DATA_FIELD, GOVERNMENT_ID_URI, SCHEMA
from xborder.domain.states import PaymentStatus, PendingStage

Schema = dict[str, Any]

CANCEL_REQUEST = "cancelpaymentrequest"
BLANK = "^[ \\t\\r\\n]*$"
"""Text that is empty once XML whitespace is removed: what an empty element reads as."""

_TEXT: Schema = {"type": "string"}
_RULES = {rule.path: rule for rule in RULES}
_ENUMS: Mapping[str, list[Any]] = {
    "payment_type": sorted(PAYMENT_TYPES),
    "purpose_of_payment": sorted(PURPOSES_OF_PAYMENT),
}
_CHECKS = (
    (checks.country, "ISO 3166-1 alpha-3 country code."),
    (checks.currency, "ISO 4217 alphabetic currency code."),
    (checks.amount, "A positive decimal amount, as a string; never a number (D10)."),
    (checks.iso_date, "A date, YYYY-MM-DD."),
    (checks.local_date_time, "The sender's local date and time, MMDDhhmmss."),
    (checks.digits, "Digits only."),
)
_PROBES = (Context({}), Context({"proposal_id": "x"}))
"""A bare request and a quote confirmation: a field required in both is always required."""


def ref(name: str) -> Schema:
    """A reference to ``components.schemas[name]``."""
    return {"$ref": f"#/components/schemas/{name}"}


def root(name: str, element: str, schema: Schema) -> dict[str, Schema]:
    """``name`` (the XML root ``element``) and ``name + "Document"`` (its JSON wrapper)."""
    return {
        name: {**schema, "xml": {"name": element}},
        f"{name}Document": {
            "type": "object",
            "required": [element],
            "properties": {element: ref(name)},
        },
    }


def _leaf(path: str) -> Schema:
    rule = _RULES.get(path)
    schema: Schema = dict(_TEXT)
    if rule is not None and rule.size is not None:
        low, high = rule.size
        schema.update({"minLength": low} if low else {}, maxLength=high)
    if path in _ENUMS:
        schema["enum"] = _ENUMS[path]
    notes = [text for check, text in _CHECKS if rule is not None and rule.check is check]
    if rule is not None and not rule.optional and not _always_required(path):
        notes.append("Required in some cases (D8).")
    return {**schema, "description": " ".join(notes)} if notes else schema


def _always_required(path: str) -> bool:
    rule = _RULES.get(path)
    return rule is not None and not rule.optional and all(map(rule.required, _PROBES))


def _node(name: str, node: Any, path: str) -> Schema:
    if isinstance(node, Mapping):
        return _object(node, path)
    kind = node.value
    if kind == "flag":
        return {"enum": ["true", "false", True, False], "description": "true or false."}
    if kind == "ids":
        uri = _leaf(f"{path}.{GOVERNMENT_ID_URI}")
        ids = _members({GOVERNMENT_ID_URI: {"anyOf": [uri, {"type": "array", "items": uri}]}})
        return {"anyOf": [ids, {"type": "array", "items": ids}]}
    if kind == "data":
        field = _members({k: _leaf(f"{path}.{DATA_FIELD}.{k}") for k in ("name", "value")})
        return _members({DATA_FIELD: {"anyOf": [field, {"type": "array", "items": field}]}})
    return _leaf(path)


def _nullable(schema: Schema) -> Schema:
    """Null reads as absent (Mastercard's reference client sends its unset members as null);
    blank text where an object belongs is an empty object (an empty XML element)."""
    kind = schema.get("type")
    if kind == "object":
        return {**schema, "type": ["object", "string", "null"], "pattern": BLANK}
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]} | (
            {"enum": [*schema["enum"], None]} if "enum" in schema else {}
        )
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}


def _members(properties: dict[str, Schema]) -> Schema:
    return {"type": "object", "properties": properties}


def _object(schema: Mapping[str, Any], parent: str) -> Schema:
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for name, node in schema.items():
        path = f"{parent}.{name}" if parent else name
        properties[name] = _nullable(_node(name, node, path))
        if _always_required(path):
            required.append(name)
    return {**_members(properties), **({"required": required} if required else {})}


def payment_request() -> Schema:
    """The ``paymentrequest`` object (docs/reference.md §2.2), from the request's own tables."""
    return {
        **_object(SCHEMA, ""),
        "description": "Unknown members are ignored. Field rules: D8; one Error per problem.",
    }


MONEY: Schema = {
    "type": "object",
    "required": ["currency", "amount"],
    "properties": {
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
    },
}


def payment(request: Schema) -> Schema:
    """The ``payment`` answer of create and Retrieve (docs/reference.md §2.3, §4); members in wire
    order; empty values are left out (D10). Echoed request members share the request's
    schemas."""
    echo = request["properties"]
    money, stamp = ref("Money"), {"type": "string", "format": "date-time"}
    reason = {"type": "object", "properties": {"Code": _TEXT, "Message": _TEXT}}
    data_list = _members(
        {
            "resource_type": {"const": "list"},
            "item_count": {"type": "string", "pattern": "^[0-9]+$"},
            "data": echo["additional_data"],
        }
    )
    properties: dict[str, Schema] = {
        "transaction_reference": echo["transaction_reference"],
        "status": {"enum": [s.value for s in PaymentStatus]},
        "id": {"type": "string", "pattern": "^rem_[A-Za-z0-9_-]{27}$"},
        "proposal_id": echo["proposal_id"],
        "resource_type": {"const": "payment"},
        "created": stamp,
        "status_timestamp": stamp,
        "pending_stage": {"enum": [s.value for s in PendingStage]},
        "pending_max_completion_date": stamp,
        **dict.fromkeys(("fees_amount", "charged_amount", "credited_amount"), money),
        "principal_amount": money,
        **{name: echo[name] for name in ("sender_account_uri", "recipient_account_uri")},
        "payment_amount": money,
        **{name: echo[name] for name in ("payment_origination_country", "fx_type")},
        **{name: echo[name] for name in ("receiving_bank_name", "receiving_bank_branch_name")},
        **{name: echo[name] for name in ("bank_code", "payment_type", "source_of_income")},
        "settlement_details": money,
        "cashout_code": _TEXT,
        "fx_rate": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
        "additional_data_list": data_list,
        **{name: echo[name] for name in ("payment_file_identifier", "card_rate_id")},
        "rejected_status": reason,
        "return_status": _members({"Message": _TEXT}),
    }
    return {
        "type": "object",
        "required": ["transaction_reference", "status", "id", "resource_type"],
        "properties": properties,
    }


def cancel_request() -> Schema:
    """The value under ``cancelpaymentrequest`` (D1, D21): nothing, blank text or an object."""
    members = {"additional_data": {"description": "Accepted and ignored."}}
    return {
        "description": "Empty (blank text or null) or an object whose members are ignored (D1)."
        " A number, a boolean, an array or other text is 400 INVALID_INPUT_VALUE 082000,"
        " Source cancelpaymentrequest (D21).",
        "anyOf": [
            {"type": "string", "pattern": BLANK},
            {"type": "null"},
            _members(members),
        ],
    }


def cancel_json_body() -> Schema:
    """The JSON cancel body: wrapped, or unwrapped as Mastercard's reference client sends it."""
    unwrapped = {
        **_members({"TransactionReference": {}, "additional_data": {}}),
        "not": {"required": [CANCEL_REQUEST]},
        "description": "Mastercard's reference client sends the request unwrapped, e.g."
        ' {"TransactionReference":null,"additional_data":null}; its members are ignored.',
    }
    return {"type": "object", "oneOf": [ref("CancelPaymentRequestDocument"), unwrapped]}


ERROR: Schema = {
    "type": "object",
    "required": ["RequestId", "Source", "ReasonCode", "Description", "Recoverable", "Details"],
    "properties": {
        "RequestId": {
            "type": ["string", "null"],
            "description": "Numeric; null on gateway and encrypted-payload errors.",
        },
        "Source": {"type": "string", "description": "The field path, or what failed."},
        "ReasonCode": _TEXT,
        "Description": _TEXT,
        "Recoverable": {"enum": ["true", "false"]},
        "Details": {
            "description": "The ErrorDetailCode; null on gateway errors (D11).",
            "anyOf": [
                {"type": "null"},
                _members(
                    {
                        "Detail": _members(
                            {
                                "Name": {"const": "ErrorDetailCode"},
                                "Value": {"type": "string", "pattern": "^[0-9]{6}$"},
                            }
                        )
                    }
                ),
            ],
        },
    },
    "xml": {"name": "Error"},
}
"""One ``Error`` of the envelope (docs/reference.md §5.1); null members are left out in XML."""

ERRORS_JSON: Schema = {
    "type": "object",
    "required": ["Errors"],
    "properties": {
        "Errors": {
            "type": "object",
            "required": ["Error"],
            "properties": {
                "Error": {
                    "description": "One Error is an object; several are an array.",
                    "oneOf": [
                        ref("Error"),
                        {"type": "array", "items": ref("Error"), "minItems": 2},
                    ],
                }
            },
        }
    },
}

ERROR_XML: Schema = {
    **ERROR,
    "required": [name for name in ERROR["required"] if name not in ("RequestId", "Details")],
    "description": "An Error in XML: RequestId and Details are left out where JSON has null.",
}
"""XML writes no element for a null member (D10), so what JSON always carries may be absent."""

ERRORS_XML: Schema = {
    "type": "object",
    "properties": {"Error": {"type": "array", "items": ref("ErrorXml"), "minItems": 1}},
    "xml": {"name": "Errors"},
}

ENCRYPTED: Schema = {
    "description": "D12: the JWE compact serialisation (RSA-OAEP-256, A256GCM; kid = SHA-256"
    " of the recipient key) of the plaintext document, sent with header x-encrypted: true.",
    **_members({VALUE: {"type": "string", "pattern": "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]*){4}$"}}),
    "required": [VALUE],
}


def components() -> dict[str, Schema]:
    """Every schema the operations refer to, by name."""
    request = payment_request()
    return {
        **root("PaymentRequest", PAYMENT_REQUEST, request),
        **root("Payment", "payment", payment(request)),
        **root("CancelPaymentRequest", CANCEL_REQUEST, cancel_request()),
        **root(
            "CancelPayment",
            "cancelpayment",
            {**_members({"status": {"const": "SUCCESS"}}), "required": ["status"]},
        ),
        "CancelPaymentRequestJson": cancel_json_body(),
        **root("EncryptedPayload", WRAPPER, ENCRYPTED),
        "Money": MONEY,
        "Error": ERROR,
        "ErrorXml": ERROR_XML,
        "Errors": ERRORS_JSON,
        "ErrorsXml": ERRORS_XML,
    }
