"""The service's own paths in the OpenAPI description: ``/health``, the description itself
and its browsable page (:mod:`xborder.api.openapi_http`). None needs authentication."""

from __future__ import annotations

from typing import Any

from xborder.api.codecs import JSON

Operation = dict[str, Any]


def service_paths() -> dict[str, dict[str, Operation]]:
    """``/health``, this description and its browsable page: no authentication."""
    status = {"type": "object", "properties": {"status": {"enum": ["UP", "DOWN"]}}}
    json_status = {JSON.media_type: {"schema": status}}

    def unsigned(operation_id: str, summary: str, responses: dict[str, Any]) -> Operation:
        return {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["Service"],
            "security": [],
            "responses": responses,
        }

    html = {"text/html": {"schema": {"type": "string"}}}
    asset = {"name": "asset", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/health": {
            "get": unsigned(
                "health",
                "Liveness and database reachability",
                {
                    "200": {"description": "UP", "content": json_status},
                    "503": {
                        "description": "DOWN: the database is unreachable",
                        "content": json_status,
                    },
                },
            )
        },
        "/openapi.json": {
            "get": unsigned(
                "openapi",
                "This description",
                {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {JSON.media_type: {"schema": {"type": "object"}}},
                    },
                },
            )
        },
        "/docs": {
            "get": unsigned(
                "docs",
                "Browsable reference (Swagger UI, served offline)",
                {
                    "200": {"description": "HTML page", "content": html},
                },
            )
        },
        "/docs/assets/{asset}": {
            "get": {
                **unsigned(
                    "docsAsset",
                    "The reference page's scripts and styles",
                    {
                        "200": {"description": "The asset"},
                        "404": {"description": "No such asset"},
                    },
                ),
                "parameters": [asset],
            }
        },
    }
