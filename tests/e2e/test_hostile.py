"""Hostile requests against a real server: XML bombs and entities, oversized and deeply nested
bodies, broken encodings, control characters, a malformed partner id (D8, D9).

Each is answered quickly with the documented ``Errors`` envelope, and the server's memory
stays flat when the whole set is sent again and again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.server import UNSIGNED, ServerProcess, running_server
from tests.payloads import PARTNER, decode, encode, path, payment_request

MIB = 1024 * 1024
ANSWER_WITHIN = 2.0  # seconds, per request
ROUNDS = 50
RSS_GROWTH_LIMIT_KIB = 20 * 1024

JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
DESCRIPTIONS = {  # docs/reference.md §5.2
    "062000": "Value contains invalid character",
    "072000": "Invalid length",
    "082000": "Invalid Input Value",
}
ERROR_KEYS = {"RequestId", "Source", "ReasonCode", "Description", "Recoverable", "Details"}


@dataclass(frozen=True)
class Expected:
    """The status and the one ``Error`` a hostile request must get."""

    status: int
    reason: str
    code: str
    source: str


BAD_FORMAT = Expected(400, "INVALID_INPUT_FORMAT", "062000", "body")
UNKNOWN_ENCODING = b'<?xml version="1.0" encoding="no-such-encoding"?><paymentrequest/>'
TOO_LARGE = Expected(413, "INVALID_INPUT_LENGTH", "072000", "body")

Content = bytes | Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class Hostile:
    """One hostile request: a POST to create a payment, and what it must get back."""

    name: str
    content: Content
    content_type: str
    expected: Expected
    partner: str = PARTNER

    def send(self, client: httpx.Client) -> httpx.Response:
        body = self.content if isinstance(self.content, bytes) else self.content()
        headers = {"Content-Type": self.content_type}
        return client.post(path("/payment", partner=self.partner), content=body, headers=headers)


# --- the hostile set ----------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE paymentrequest [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<paymentrequest><transaction_reference>&lol9;</transaction_reference></paymentrequest>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE paymentrequest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<paymentrequest><transaction_reference>&xxe;</transaction_reference></paymentrequest>"""

DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE paymentrequest [<!ELEMENT paymentrequest (#PCDATA)>]>"""

DTD_DECLARATION = b"""<?xml version="1.0"?>
<!DOCTYPE paymentrequest [<!ELEMENT paymentrequest ANY>]>
<paymentrequest><transaction_reference>DTD-1</transaction_reference></paymentrequest>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE paymentrequest SYSTEM "http://127.0.0.1:9/evil.dtd">
<paymentrequest><transaction_reference>DTD-2</transaction_reference></paymentrequest>"""

TEN_MIB = b'{"paymentrequest":"' + b"A" * (10 * MIB) + b'"}'


def ten_mib_chunked() -> Iterator[bytes]:
    """10 MiB in 1 MiB pieces: httpx sends it chunked, without Content-Length."""
    for _ in range(10):
        yield b" " * MIB


DEEP_JSON = b"[" * 100_000
DEEP_JSON_CLOSED = b'{"paymentrequest":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_XML = b"<paymentrequest>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</paymentrequest>"


def json_payment(reference: str, **names: str) -> bytes:
    """A valid payment request as JSON, with the sender's names replaced."""
    request = payment_request(reference)
    request["sender"].update(names)
    content, _ = encode({"paymentrequest": request}, "json")
    return content


def json_payment_spliced(reference: str, raw_first_name: bytes) -> bytes:
    """A valid payment request as JSON whose sender first name is ``raw_first_name``, as is
    (bytes no encoder would produce)."""
    return json_payment(reference, first_name="PLACEHOLDER").replace(b"PLACEHOLDER", raw_first_name)


INVALID_UTF8 = json_payment_spliced("UTF8-1", b"Jo\xffhn\xed\xa0\x80")
LONE_SURROGATE = json_payment_spliced("UTF8-2", rb"Jo\ud800hn")  # valid JSON, not valid text


def invalid_character(source: str) -> Expected:
    return Expected(400, "INVALID_INPUT_FORMAT", "062000", source)


HOSTILE_SET = (
    Hostile("billion-laughs", BILLION_LAUGHS, XML_TYPE, BAD_FORMAT),
    Hostile("external-entity", EXTERNAL_ENTITY, XML_TYPE, BAD_FORMAT),
    Hostile("dtd-only", DTD_ONLY, XML_TYPE, BAD_FORMAT),
    Hostile("dtd-declaration", DTD_DECLARATION, XML_TYPE, BAD_FORMAT),
    Hostile("external-dtd", EXTERNAL_DTD, XML_TYPE, BAD_FORMAT),
    Hostile("10mib-with-length", TEN_MIB, JSON_TYPE, TOO_LARGE),
    Hostile("10mib-chunked", ten_mib_chunked, JSON_TYPE, TOO_LARGE),
    Hostile("deep-json", DEEP_JSON, JSON_TYPE, BAD_FORMAT),
    Hostile("deep-json-closed", DEEP_JSON_CLOSED, JSON_TYPE, BAD_FORMAT),
    Hostile("deep-xml", DEEP_XML, XML_TYPE, BAD_FORMAT),
    Hostile("invalid-utf8", INVALID_UTF8, JSON_TYPE, BAD_FORMAT),
    Hostile("unknown-xml-encoding", UNKNOWN_ENCODING, XML_TYPE, BAD_FORMAT),
    Hostile(
        "control-u0001",
        json_payment("CTRL-1", first_name="Jo\u0001hn"),
        JSON_TYPE,
        invalid_character("sender.first_name"),
    ),
    Hostile(
        "control-u0000",
        json_payment("CTRL-2", last_name="Jo\u0000nes"),
        JSON_TYPE,
        invalid_character("sender.last_name"),
    ),
    Hostile(  # §9: such fields accept UTF-8; a lone surrogate has no UTF-8 form
        "lone-surrogate",
        LONE_SURROGATE,
        JSON_TYPE,
        invalid_character("sender.first_name"),
    ),
    Hostile(
        "partner-id-36",
        json_payment("PARTNER-36"),
        JSON_TYPE,
        Expected(400, "INVALID_INPUT_VALUE", "082000", "partner-id"),
        partner="P" * 36,
    ),
)


# --- fixtures and checks --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("hostile"), env=UNSIGNED) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
        yield http


def timed(hostile: Hostile, client: httpx.Client) -> httpx.Response:
    """Send ``hostile``; fail unless the answer came within :data:`ANSWER_WITHIN` seconds."""
    start = time.perf_counter()
    response = hostile.send(client)
    elapsed = time.perf_counter() - start
    assert elapsed < ANSWER_WITHIN, f"{hostile.name}: answered in {elapsed:.2f} s"
    return response


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The one ``Error`` of an ``Errors`` body, in whichever format it came."""
    fmt = "xml" if "xml" in response.headers["content-type"] else "json"
    document = decode(response.content, fmt)
    assert list(document) == ["Errors"], document
    error = document["Errors"]["Error"]
    assert isinstance(error, dict), error
    return error


def assert_envelope(response: httpx.Response, expected: Expected) -> None:
    assert response.status_code == expected.status, response.text[:500]
    error = error_of(response)
    assert set(error) == ERROR_KEYS, error
    assert error["RequestId"].isdigit(), error
    assert (error["Source"], error["ReasonCode"]) == (expected.source, expected.reason), error
    assert error["Description"] == DESCRIPTIONS[expected.code], error
    assert error["Recoverable"] == "false", error
    assert error["Details"] == {"Detail": {"Name": "ErrorDetailCode", "Value": expected.code}}


# --- tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE_SET, ids=lambda h: h.name)
def test_hostile_request_is_refused(client: httpx.Client, hostile: Hostile) -> None:
    assert_envelope(timed(hostile, client), hostile.expected)


def test_xml_request_gets_an_xml_envelope(client: httpx.Client) -> None:
    response = timed(HOSTILE_SET[0], client)
    assert response.headers["content-type"].startswith(XML_TYPE)
    assert response.content.startswith(b"<?xml")


def send_hostile_set(client: httpx.Client) -> None:
    """One round of the whole set. Only the timing is checked here: the answers are the
    business of the test above, so that this one measures memory whatever they are."""
    for hostile in HOSTILE_SET:
        timed(hostile, client)


@pytest.mark.slow
def test_memory_stays_flat_under_hostile_load(
    server: ServerProcess, client: httpx.Client, record_property: Callable[[str, object], None]
) -> None:
    send_hostile_set(client)  # warm-up: allocator arenas, caches, thread pool
    before = server.rss_kib()
    peak = before
    for _ in range(ROUNDS):
        send_hostile_set(client)
        peak = max(peak, server.rss_kib())
    after = server.rss_kib()
    record_property("rss_kib", {"before": before, "after": after, "peak": peak})
    print(f"server RSS: {before} KiB after warm-up, {after} KiB after {ROUNDS} rounds, peak {peak}")
    assert after - before < RSS_GROWTH_LIMIT_KIB, (before, after, peak)
    assert client.get("/health").status_code == 200
