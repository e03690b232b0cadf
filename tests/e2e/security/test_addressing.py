"""D11 behind a reverse proxy: the URL the client signed is rebuilt from XBORDER_PUBLIC_URL or,
when trusted, from the proxy's forwarded headers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.security.conftest import BASE, SANDBOX_KEY, Api, Keys, gateway_error
from tests.payloads import path
from tests.signing import mastercard_header
from xborder.api.app import create_app
from xborder.clock import FixedClock
from xborder.config import Settings

RETRIEVE = path("?ref=NOT-THERE")


def client_for(settings: Settings, engine: Engine, clock: FixedClock, keys: Keys) -> Iterator[Api]:
    with TestClient(create_app(settings, engine=engine, clock=clock), base_url=BASE) as http:
        yield Api(http, keys)


@pytest.fixture
def behind_public_url(
    signed_settings: Settings, engine: Engine, clock: FixedClock, registered: None, keys: Keys
) -> Iterator[Api]:
    settings = dataclasses.replace(signed_settings, public_url="https://xbs.example.com:8443/gw")
    yield from client_for(settings, engine, clock, keys)


@pytest.fixture
def behind_trusted_proxy(
    signed_settings: Settings, engine: Engine, clock: FixedClock, registered: None, keys: Keys
) -> Iterator[Api]:
    settings = dataclasses.replace(signed_settings, trust_forwarded=True)
    yield from client_for(settings, engine, clock, keys)


def get_signed_for(api: Api, url: str, headers: dict[str, str] | None = None) -> int:
    header = mastercard_header(url, "GET", None, SANDBOX_KEY, api.keys.signer.key)
    response = api.http.get(RETRIEVE, headers={"Authorization": header, **(headers or {})})
    if response.status_code != 404:
        assert gateway_error(response)[0] == 403
    return response.status_code


def test_public_url_is_what_clients_sign(behind_public_url: Api) -> None:
    assert get_signed_for(behind_public_url, "https://xbs.example.com:8443/gw" + RETRIEVE) == 404
    assert get_signed_for(behind_public_url, BASE + RETRIEVE) == 403


@pytest.mark.parametrize(
    ("signed_url", "headers"),
    [
        (
            "https://api.example.com" + RETRIEVE,
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"},
        ),
        (
            "https://api.example.com:9443" + RETRIEVE,
            {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Host": "api.example.com",
                "X-Forwarded-Port": "9443",
            },
        ),
        (
            "https://api.example.com" + RETRIEVE,
            {"Forwarded": 'for=10.0.0.1;proto=https;host="api.example.com", for=10.0.0.2'},
        ),
        ("https://testserver" + RETRIEVE, {"X-Forwarded-Proto": "https"}),
    ],
    ids=["x-forwarded", "x-forwarded-port", "rfc7239", "proto-only"],
)
def test_trusted_forwarded_headers_give_the_client_url(
    behind_trusted_proxy: Api, signed_url: str, headers: dict[str, str]
) -> None:
    assert get_signed_for(behind_trusted_proxy, signed_url, headers) == 404


def test_forwarded_headers_are_ignored_unless_trusted(api: Api) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
    assert get_signed_for(api, "https://api.example.com" + RETRIEVE, headers) == 403
    assert get_signed_for(api, BASE + RETRIEVE, headers) == 404
