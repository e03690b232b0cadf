"""The authorization server's paths in the OpenAPI description (D23, :mod:`xborder.api.oauth2`).

Answers and errors are RFC 6749's JSON, not the XBS ``Errors`` envelope.
"""

from __future__ import annotations

from typing import Any

from xborder.api.codecs import JSON
from xborder.api.oauth2 import AUTHORIZE, TOKEN_PATH

Operation = dict[str, Any]
_TEXT = {"type": "string"}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "enum": [
                "invalid_request",
                "invalid_client",
                "unauthorized_client",
                "invalid_grant",
                "unsupported_grant_type",
            ]
        },
        "error_description": _TEXT,
    },
}
_PENDING = {
    "type": "object",
    "required": ["grant_id", "status", "poll"],
    "properties": {"grant_id": _TEXT, "status": {"const": "PENDING"}, "poll": _TEXT},
}
_ISSUED = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "refresh_token"],
    "properties": {
        "access_token": _TEXT,
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer", "examples": [900]},
        "refresh_token": _TEXT,
        "refresh_token_expires_in": {"type": "integer", "examples": [7776000]},
    },
}
_REDIRECT = {
    "description": "To redirect_uri with `code` and `state` (or `error`)",
    "headers": {"Location": {"schema": _TEXT}},
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON.media_type: {"schema": schema}}}


def _query(name: str, required: bool, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema or _TEXT}


def oauth2_paths() -> dict[str, dict[str, Operation]]:
    """``/oauth2/authorize``, the held request's poll and ``/oauth2/token``."""
    authorize: Operation = {
        "operationId": "authorize",
        "summary": "Authorization-code request of an eu/uk project (D23)",
        "tags": ["OAuth 2.0"],
        "security": [],
        "parameters": [
            _query("response_type", True, {"const": "code"}),
            _query("client_id", True),
            _query("redirect_uri", True, {"type": "string", "format": "uri"}),
            _query("state", False),
        ],
        "responses": {
            "302": _REDIRECT,
            "202": _json("Held until an operator consents (mtf, production)", _PENDING),
            "400": _json("Unknown client_id, a global project, or a bad redirect_uri", _ERROR),
        },
    }
    collect: Operation = {
        "operationId": "collectAuthorization",
        "summary": "The held request: its code once approved (D23)",
        "tags": ["OAuth 2.0"],
        "security": [],
        "parameters": [{"name": "grant_id", "in": "path", "required": True, "schema": _TEXT}],
        "responses": {
            "302": _REDIRECT,
            "202": _json("Still waiting for the operator", _PENDING),
            "400": _json("The code was collected before", _ERROR),
            "404": _json("No such grant", _ERROR),
        },
    }
    form = {
        "type": "object",
        "required": ["grant_type"],
        "properties": {
            "grant_type": {"enum": ["authorization_code", "refresh_token"]},
            "code": _TEXT,
            "redirect_uri": _TEXT,
            "refresh_token": _TEXT,
        },
    }
    token: Operation = {
        "operationId": "token",
        "summary": "Exchange a code or a refresh token; the client signs a request token",
        "tags": ["OAuth 2.0"],
        "security": [{"requestToken": []}],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": form}},
        },
        "responses": {
            "200": _json("Tokens (access 15 minutes, refresh 90 days)", _ISSUED),
            "400": _json("RFC 6749 §5.2 error", _ERROR),
            "401": _json("invalid_client: the request token was refused or reused", _ERROR),
        },
    }
    return {
        AUTHORIZE: {"get": authorize},
        AUTHORIZE + "/{grant_id}": {"get": collect},
        TOKEN_PATH: {"post": token},
    }
