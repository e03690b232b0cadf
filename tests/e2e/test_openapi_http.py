"""``GET /openapi.json`` and ``GET /docs`` over the in-process app (D21), with the signed gate
on: both answer without authentication, the page loads only this server's assets, and every
route the app answers is in the description."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from xborder.api import admin
from xborder.api.app import create_app
from xborder.api.openapi import openapi_document
from xborder.api.routes import ENDPOINTS
from xborder.cli import main
from xborder.config import Settings


@pytest.fixture
def signed(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app as deployed: OAuth 1.0a required on the XBS paths (D11)."""
    app = create_app(settings.replace(auth=True), engine=engine)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def test_description_is_served_unauthenticated(signed: TestClient) -> None:
    response = signed.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert any(path.startswith(admin.PREFIX) for path in document["paths"])
    # the XBS paths themselves still need a signature
    unsigned = signed.get("/send/v1/partners/PARTNER_1/crossborder/rem_x")
    assert unsigned.status_code == 400
    assert unsigned.json()["Errors"]["Error"]["ReasonCode"] == "INVALID_AUTH_HEADER"


def test_description_follows_the_deployment(settings: Settings, engine: Engine) -> None:
    production = settings.replace(deployment="production")
    with TestClient(create_app(production, engine=engine)) as client:
        document = client.get("/openapi.json").json()
    assert document == json.loads(json.dumps(openapi_document(production)))
    assert not any(path.startswith(admin.PREFIX) for path in document["paths"])


def test_docs_page_loads_only_local_assets(signed: TestClient) -> None:
    response = signed.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    references = re.findall(r'(?:src|href|url)\s*[:=]\s*"([^"]+)"', page)
    assert references, page
    assert "openapi.json" in references
    for reference in references:
        assert not re.match(r"^(?:[a-z]+:)?//", reference), reference  # nothing off the server
        asset = signed.get(f"/{reference}")  # relative to /docs: the server's root
        assert asset.status_code == 200, reference
        assert asset.content, reference


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
    ],
)
def test_assets_are_served(signed: TestClient, name: str, media_type: str) -> None:
    response = signed.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize("name", ["index.html", "swagger-initializer.js", "..%2F__init__.py"])
def test_only_the_pages_assets_are_served(signed: TestClient, name: str) -> None:
    assert signed.get(f"/docs/assets/{name}").status_code == 404


def test_every_route_of_the_app_is_described(signed: TestClient) -> None:
    """The reverse is held in tests/unit/test_openapi.py against the routers' tables."""
    described = signed.get("/openapi.json").json()["paths"]
    served: set[tuple[str, str]] = set()
    for route in signed.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route):  # a Starlette route
            served |= {(m, route.path) for m in route.methods or ()} - {("HEAD", route.path)}
        elif isinstance(route, Mount) and route.path == admin.PREFIX:
            routes = [r for r in route.routes if isinstance(r, Route)]
            served |= {(m, admin.PREFIX + r.path) for r in routes for m in r.methods or ()}
        elif isinstance(route, Mount):  # the XBS endpoint: its router's table
            served |= {(method, path) for _name, method, path in ENDPOINTS}
    served = {(m, p) for m, p in served if m != "HEAD"}
    assert served == {(m.upper(), p) for p, item in described.items() for m in item}


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_cli_prints_the_description(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XBORDER_DEPLOYMENT", "production")
    result = CliRunner().invoke(main, ["openapi", "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        document = json.loads(result.output)
    else:
        import yaml

        document = yaml.safe_load(result.output)
        assert "&id" not in result.output  # shared sub-schemas written out, not aliased
    assert document == json.loads(json.dumps(openapi_document(Settings(deployment="production"))))
