"""XBORDER_AUTH=off (D11's development mode): unsigned requests reach sandbox partners only,
signed ones are still verified, and the mode is announced at start and on every response."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.security.conftest import (
    BASE,
    MTF_KEY,
    MTF_PARTNER,
    PROD_PARTNER,
    SANDBOX_BOUND,
    Api,
    Keys,
    gateway_error,
    register_projects,
)
from tests.payloads import PARTNER, encode, path, payment_request
from xborder.api.app import create_app
from xborder.api.unsigned import WARNING
from xborder.clock import FixedClock
from xborder.config import Settings
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

RETRIEVE = "?ref=NOT-THERE"


@pytest.fixture
def unsigned(
    settings: Settings,
    engine: Engine,
    clock: FixedClock,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Api]:
    assert settings.auth is False  # tests/conftest.py runs the unsigned suites this way
    register_projects(SqlAlchemyUowFactory(engine), keys)
    with caplog.at_level(logging.WARNING, logger="xborder"):
        app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url=BASE) as http:
        yield Api(http, keys)


def test_mode_is_logged_at_start(unsigned: Api, caplog: pytest.LogCaptureFixture) -> None:
    records = caplog.get_records("setup")
    assert any("AUTHENTICATION IS OFF" in r.getMessage() for r in records)


@pytest.mark.parametrize("partner", [PARTNER, SANDBOX_BOUND])
def test_unsigned_request_for_a_sandbox_partner_is_admitted(unsigned: Api, partner: str) -> None:
    content, headers = encode({"paymentrequest": payment_request("UNSIGNED-1")}, "json")
    response = unsigned.http.post(
        path("/payment", partner=partner), content=content, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["warning"] == WARNING


@pytest.mark.parametrize("partner", [MTF_PARTNER, PROD_PARTNER])
def test_unsigned_request_for_an_mtf_or_production_partner_is_refused(
    unsigned: Api, partner: str
) -> None:
    response = unsigned.http.get(path(RETRIEVE, partner=partner))
    assert gateway_error(response) == (401, "DECLINED")
    assert response.headers["warning"] == WARNING


def test_every_response_carries_the_warning(unsigned: Api) -> None:
    for response in (
        unsigned.http.get("/health"),
        unsigned.http.get("/nowhere"),
        unsigned.http.get(path(RETRIEVE)),
        unsigned.http.post(
            path("/payment"), content=b"{", headers={"Content-Type": "application/json"}
        ),
    ):
        assert response.headers["warning"] == WARNING


def test_signed_requests_are_still_verified(unsigned: Api) -> None:
    assert unsigned.call("GET", RETRIEVE).status_code == 404
    bad = unsigned.call("GET", RETRIEVE, key=unsigned.keys.stranger)
    assert gateway_error(bad) == (403, "AUTHENTICATION_FAILED")
    mtf = unsigned.call(
        "GET", RETRIEVE, partner=MTF_PARTNER, consumer_key=MTF_KEY, key=unsigned.keys.mtf_signer
    )
    assert mtf.status_code == 404


def test_unsigned_request_cannot_ask_for_encryption(unsigned: Api) -> None:
    response = unsigned.http.get(path(RETRIEVE), headers={"x-encrypted": "true"})
    assert response.status_code == 400
    assert response.json()["Errors"]["Error"]["Source"] == "Encrypted Payload"


def test_no_warning_when_authentication_is_on(api: Api) -> None:
    assert "warning" not in api.http.get("/health").headers
    assert "warning" not in api.call("GET", RETRIEVE).headers
