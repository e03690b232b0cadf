"""The web console in a real browser (issue 14), against ``xborder serve`` over real HTTP.

One flow, as an operator and a partner's developer would go: log in with the one-time link
the server prints for a development deployment; register the sandbox partner's webhook (a
receiver this test runs); create a payment with xborder's own client (signed with the dev
project's keys) and watch it arrive on the requests page over Server-Sent Events; open it,
cancel it from its page and see its status timeline and the webhook delivery; send a request
signed with the wrong key and read why it was refused (the signature base string the server
computed); the home page's figures. The login link works once only.

Runs Debian's chromium (``/usr/bin/chromium``) through Playwright; skipped, saying why, when
either is missing, except in CI (``XBORDER_REQUIRE_CHROMIUM=1``, set by ``.ci/run``, which
installs chromium). With ``XBORDER_SCREENSHOTS=DIR`` the pages docs/console.md shows are
saved there (``XBORDER_SCREENSHOTS=docs`` refreshes the committed ones).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, path, payment_request
from tests.signing import make_party, mastercard_header
from tests.webhook_receiver import Receiver, receiving
from xborder.client import OAuth1Auth, XborderClient
from xborder.security.keys import load_private_key

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ENV = {
    "XBORDER_AUTH": "off",  # unsigned sandbox requests are let in; signed ones still verified
    "XBORDER_SCHEDULER": "off",  # the payment stays PENDING until the console cancels it
    "XBORDER_ACCESS_LOG": "off",
    "XBORDER_WEBHOOK_INTERVAL": "0.2",
}
VIEWPORT = {"width": 1200, "height": 800}
REQUIRED = os.environ.get("XBORDER_REQUIRE_CHROMIUM") == "1"
SCREENSHOTS = os.environ.get("XBORDER_SCREENSHOTS")  # read before clean_environ runs


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason}; XBORDER_REQUIRE_CHROMIUM=1 (CI) needs it", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - depends on the machine
    _skip_or_fail("playwright is not installed (make install)")
if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
    _skip_or_fail(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    with running_server(workdir, env=ENV) as running:
        yield running


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``XBORDER_SCREENSHOTS`` or the test's temporary directory."""
    target = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    return target


def login_link(server: ServerProcess) -> str:
    printed = server.log_path.with_suffix(".out").read_text(encoding="utf-8")
    found = re.search(r"one-time login link \(valid 24 h\): (\S+)", printed)
    assert found, printed
    return found.group(1)


def dev_client(server: ServerProcess, workdir: Path) -> XborderClient:
    """xborder's client with the dev project's keys (written by the server's first run)."""
    dev = workdir / "data" / "dev"
    consumer_key = (dev / "consumer-key.txt").read_text().strip()
    signing_key = load_private_key((dev / "signing-key.pem").read_bytes())
    return XborderClient(server.base_url, PARTNER, auth=OAuth1Auth(consumer_key, signing_key))


def wrongly_signed_retrieve(server: ServerProcess, workdir: Path, payment_id: str) -> None:
    """A retrieve under the dev project's consumer key, signed by Mastercard's signer with a
    key that is not the project's: refused (D11)."""
    consumer_key = (workdir / "data" / "dev" / "consumer-key.txt").read_text().strip()
    stranger = make_party(workdir / "stranger", "stranger")
    url = server.url(path(f"/{payment_id}"))
    header = mastercard_header(url, "GET", None, consumer_key, stranger.key)
    answer = httpx.get(url, headers={"Authorization": header}, trust_env=False, timeout=10)
    assert answer.status_code == 403, answer.text


def test_operator_and_developer_flow(
    server: ServerProcess, workdir: Path, receiver: Receiver, browser: Any, shots: Path
) -> None:
    link = login_link(server)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(link)
        assert page.url.endswith("/console/")
        assert page.inner_text("h1") == "Overview"

        page.click("nav >> text=Webhooks")
        page.fill("input[name=partner]", PARTNER)
        page.fill("input[name=url]", receiver.url)
        page.click("button:has-text('Save')")
        page.wait_for_selector(f"text=webhook of {PARTNER}: {receiver.url}")

        page.click("nav >> text=Requests")
        page.wait_for_selector("#live")  # no wait: the stream goes on from what the page shows
        with dev_client(server, workdir) as client:
            payment = client.create_payment(payment_request("BROWSER-1"))
        live = f"#entries tr:has-text('{payment.id}')"
        page.wait_for_selector(live, timeout=10_000)  # arrived over SSE, no reload
        assert "/crossborder/payment" in page.inner_text(live)
        page.click(f"{live} >> a:has-text('{payment.id}')")

        assert page.inner_text("#status") == "PENDING"
        page.click("button:has-text('Cancel')")
        page.wait_for_selector("text=cancel: done")
        assert page.inner_text("#status") == "CANCELLED"
        assert "CANCELLED" in page.inner_text("#timeline")
        assert "/crossborder/payment" in page.inner_text("#requests")  # the create request
        (pushed,) = receiver.wait_for(1)
        assert pushed["transactionReference"] == "BROWSER-1" and "CANCELLED" in str(pushed)
        for _ in range(50):  # the sender records the attempt after the receiver answered
            if "DELIVERED" in page.inner_text("#deliveries"):
                break
            page.wait_for_timeout(200)
            page.reload()
        assert "DELIVERED" in page.inner_text("#deliveries")
        page.screenshot(path=str(shots / "console-payment.png"))

        wrongly_signed_retrieve(server, workdir, payment.id)
        page.goto(server.url("/console/requests?status=403"))
        refused = f"#entries tr:has-text('/crossborder/{payment.id}')"
        page.wait_for_selector(refused, timeout=10_000)
        page.click(f"{refused} >> a >> nth=0")
        explanation = page.inner_text("#explanation")
        assert "signature does not verify" in explanation
        assert f"GET&http%3A%2F%2F127.0.0.1%3A{server.port}%2Fsend" in explanation
        page.screenshot(path=str(shots / "console-request.png"))

        page.click("nav >> text=Overview")
        assert "CANCELLED" in page.inner_text("#payments-by-status")
        assert "403" in page.inner_text("#requests-by-status")
        assert page.inner_text("#failures") == "0"
        top = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": 420}  # the figures
        page.screenshot(path=str(shots / "console-home.png"), clip=top)
    finally:
        context.close()

    again = browser.new_context()
    try:
        second = again.new_page()
        second.goto(link)
        assert "used already or has expired" in second.content()
    finally:
        again.close()
