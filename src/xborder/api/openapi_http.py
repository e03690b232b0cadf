"""Serving the description (D21): ``GET /openapi.json`` and a browsable page at ``GET /docs``.

Both are unauthenticated. The page is Swagger UI from the ``swagger-ui-bundle-v2`` package,
served from this process (no CDN: it works offline and on a closed network). Its URLs are
relative, so it also works behind a reverse proxy that adds a path prefix.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from swagger_ui_bundle import swagger_ui_path

from xborder.api.openapi import openapi_document
from xborder.config import Settings

ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
"""The only files of the bundle the page needs, and the only ones served."""

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>xborder API reference</title>
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null
    });
  </script>
</body>
</html>
"""
"""Swagger UI pointed at this server's description; ``validatorUrl: null`` keeps it from
calling the public validator."""


def openapi_routes(settings: Settings) -> list[BaseRoute]:
    """The routes serving the description of this deployment (built at the first request,
    then kept: the settings it depends on do not change while the app runs)."""
    assets = Path(swagger_ui_path)

    @functools.cache
    def document() -> bytes:
        return json.dumps(openapi_document(settings), ensure_ascii=False).encode("utf-8")

    async def description(_request: Request) -> Response:
        return Response(document(), media_type="application/json")

    async def page(_request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def asset(request: Request) -> Response:
        name = request.path_params["asset"]
        if name not in ASSETS:
            return PlainTextResponse("Not Found", status_code=404)
        return FileResponse(assets / name)

    return [
        Route("/openapi.json", description, methods=["GET"]),
        Route("/docs", page, methods=["GET"]),
        Route("/docs/assets/{asset}", asset, methods=["GET"]),
    ]
