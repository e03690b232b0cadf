"""The web console in a real browser (issue 14): ``xborder serve`` on a development
deployment prints a one-time login link; with it, find a payment, cancel it through its
form, and watch the request journal update live over Server-Sent Events.

Runs Debian's chromium (``/usr/bin/chromium``) through Playwright; skipped, saying why, when
either is missing (``.ci/run`` installs chromium)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, payment_request

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ENV = {"XBORDER_AUTH": "off", "XBORDER_SCHEDULER": "off", "XBORDER_ACCESS_LOG": "off"}

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    pytest.skip(
        f"chromium is not installed at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("console"), env=ENV) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


def login_link(server: ServerProcess) -> str:
    printed = server.log_path.with_suffix(".out").read_text(encoding="utf-8")
    found = re.search(r"one-time login link \(valid 24 h\): (\S+)", printed)
    assert found, printed
    return found.group(1)


def xbs(server: ServerProcess, method: str, suffix: str, body: object = None) -> httpx.Response:
    url = server.url(f"/send/v1/partners/{PARTNER}/crossborder{suffix}")
    return httpx.request(method, url, json=body, trust_env=False, timeout=10)


def test_log_in_find_cancel_and_watch_the_journal(server: ServerProcess, browser: Any) -> None:
    created = xbs(server, "POST", "/payment", {"paymentrequest": payment_request("BROWSER-1")})
    assert created.status_code == 200, created.text
    payment_id = created.json()["payment"]["id"]
    link = login_link(server)
    page = browser.new_page()
    try:
        page.goto(link)
        assert page.url.endswith("/console/payments")
        page.fill("input[name=q]", "BROWSER-1")
        page.click("text=Search")
        page.click(f"text={payment_id}")
        assert page.inner_text("#status") == "PENDING"
        page.click("button:has-text('Cancel')")
        page.wait_for_selector("text=cancel: done")
        assert page.inner_text("#status") == "CANCELLED"
        assert "CANCELLED" in page.inner_text("#timeline")
        assert "/crossborder/payment" in page.inner_text("#requests")  # the create request

        page.click("nav >> text=Requests")
        page.wait_for_selector("#live")
        page.wait_for_timeout(1500)  # the stream opened and read where the journal stands
        retrieved = xbs(server, "GET", f"/{payment_id}")
        assert retrieved.status_code == 200
        live = f"#entries tr:has-text('/crossborder/{payment_id}')"
        page.wait_for_selector(live, timeout=10_000)  # arrived over SSE, no reload
        page.click(f"{live} >> a")
        assert '"status":"CANCELLED"' in page.inner_text("#response")
    finally:
        page.close()
    second = browser.new_context()
    try:
        again = second.new_page()
        again.goto(link)
        assert "used already or has expired" in again.content()
    finally:
        second.close()
