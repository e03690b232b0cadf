"""The API over real HTTP: ``xborder serve`` in a subprocess, driven by httpx and raw sockets.

Create -> retrieve (id, ``?ref=``) -> cancel (POST, GET, id, reference) -> retrieve CANCELLED,
in JSON and XML (D1, D2, D5, D6, D9); the same flow with HTTP/1.0 requests and with chunked
request bodies without Content-Length (D9); the health check; a clean exit on SIGTERM; a
JSON-lines access log that never holds a body.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import HOST, UNSIGNED, ServerProcess, running_server
from tests.payloads import decode, encode, path, payment_request

FORMATS = ("json", "xml")
MEDIA = {"json": "application/json", "xml": "application/xml"}
CANCEL_SUCCESS = {"cancelpayment": {"status": "SUCCESS"}}
RAW_TIMEOUT = 10.0
STATUS_LINE = re.compile(r"HTTP/1\.[01] (\d{3}) [A-Za-z ]+")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("http"), env=UNSIGNED) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
        yield http


# --- httpx ------------------------------------------------------------------------------------


def create(client: httpx.Client, fmt: str, reference: str, **kwargs: Any) -> dict[str, Any]:
    content, headers = encode({"paymentrequest": payment_request(reference, **kwargs)}, fmt)
    response = client.post(path("/payment"), content=content, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MEDIA[fmt])
    payment: dict[str, Any] = decode(response.content, fmt)["payment"]
    return payment


def retrieve(client: httpx.Client, fmt: str, suffix: str) -> dict[str, Any]:
    response = client.get(path(suffix), headers={"Accept": MEDIA[fmt]})
    assert response.status_code == 200, response.text
    payment: dict[str, Any] = decode(response.content, fmt)["payment"]
    return payment


def cancel(client: httpx.Client, fmt: str, key: str, method: str) -> httpx.Response:
    if method == "GET":
        return client.get(path(f"/{key}/cancel"), headers={"Accept": MEDIA[fmt]})
    content, headers = encode({"cancelpaymentrequest": ""}, fmt)
    return client.post(path(f"/{key}/cancel"), content=content, headers=headers)


def assert_cancel_refused(response: httpx.Response, fmt: str) -> None:
    assert response.status_code == 402, response.text
    error = decode(response.content, fmt)["Errors"]["Error"]
    assert (error["ReasonCode"], error["Source"]) == ("DECLINE", "CancelPayment")
    assert error["Details"]["Detail"] == {"Name": "ErrorDetailCode", "Value": "130111"}


def assert_cancelled(payment: dict[str, Any]) -> None:
    assert payment["status"] == "CANCELLED"
    assert "pending_stage" not in payment
    assert "pending_max_completion_date" not in payment


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("method", "by"), [("POST", "id"), ("GET", "id"), ("POST", "ref"), ("GET", "ref")]
)
def test_lifecycle_over_http(client: httpx.Client, fmt: str, method: str, by: str) -> None:
    reference = f"HTTP-{fmt}-{method}-{by}"
    payment = create(client, fmt, reference)
    assert (payment["status"], payment["pending_stage"]) == ("PENDING", "Processing")
    assert retrieve(client, fmt, f"/{payment['id']}")["status"] == "PENDING"
    assert retrieve(client, fmt, f"?ref={reference}")["id"] == payment["id"]

    response = cancel(client, fmt, payment["id"] if by == "id" else reference, method)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MEDIA[fmt])
    assert decode(response.content, fmt) == CANCEL_SUCCESS

    assert_cancelled(retrieve(client, fmt, f"/{payment['id']}"))
    assert_cancelled(retrieve(client, fmt, f"?ref={reference}"))
    assert_cancel_refused(cancel(client, fmt, reference, "POST"), fmt)


def test_reference_with_reserved_characters(client: httpx.Client) -> None:
    """D2 over a real server: the path is routed raw, so ``%2F`` stays inside one segment."""
    payment = create(client, "json", "R/S?T#U")
    assert retrieve(client, "json", "?ref=R%2FS%3FT%23U")["id"] == payment["id"]
    response = cancel(client, "json", "R%2FS%3FT%23U", "POST")
    assert (response.status_code, response.json()) == (200, CANCEL_SUCCESS)
    assert_cancelled(retrieve(client, "json", f"/{payment['id']}"))


def test_health(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "UP"}


# --- raw sockets: HTTP/1.0 and chunked request bodies ------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    """A response read off a socket until the server closed it."""

    status_line: str
    headers: dict[str, str]
    body: bytes

    @property
    def status(self) -> int:
        match = STATUS_LINE.fullmatch(self.status_line)
        assert match, self.status_line
        return int(match.group(1))


def build_request(
    method: str,
    target: str,
    *,
    version: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    chunk_size: int | None = None,
) -> bytes:
    """A request as bytes; with ``chunk_size`` the body is sent chunked, without a length."""
    lines = [
        f"{method} {target} {version}",
        f"Host: {HOST}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    if version == "HTTP/1.1":
        lines.append("Connection: close")
    if chunk_size is not None:
        lines.append("Transfer-Encoding: chunked")
        body = chunked(body, chunk_size)
    elif body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(body: bytes, size: int) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def exchange(port: int, request: bytes) -> RawResponse:
    """Send ``request``, read until the server closes the connection, parse the response."""
    with socket.create_connection((HOST, port), timeout=RAW_TIMEOUT) as sock:
        sock.sendall(request)
        received = b"".join(iter(lambda: sock.recv(65536), b""))
    head, separator, body = received.partition(b"\r\n\r\n")
    assert separator, received[:200]
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        assert len(body) == int(headers["content-length"]), "body shorter than its length"
    return RawResponse(status_line, headers, body)


@dataclass(frozen=True)
class RawFlow:
    """Sends the flow's requests in one HTTP flavour and checks what comes back."""

    port: int
    fmt: str
    version: str
    chunk_size: int | None

    def call(self, method: str, suffix: str, document: dict[str, Any] | None = None) -> RawResponse:
        headers = {"Accept": MEDIA[self.fmt]}
        body = b""
        if document is not None:
            body, headers = encode(document, self.fmt)
        chunk_size = self.chunk_size if body else None
        request = build_request(
            method,
            path(suffix),
            version=self.version,
            headers=headers,
            body=body,
            chunk_size=chunk_size,
        )
        response = exchange(self.port, request)
        if self.version == "HTTP/1.0":
            assert response.headers.get("connection", "close").lower() == "close"
        return response

    def document(self, response: RawResponse, status: int = 200) -> dict[str, Any]:
        assert response.status == status, (response.status_line, response.body[:300])
        assert response.headers["content-type"].startswith(MEDIA[self.fmt])
        return decode(response.body, self.fmt)


def run_raw_flow(flow: RawFlow, reference: str) -> None:
    """Create -> retrieve by id and reference -> cancel by reference (POST, with a body) ->
    retrieve CANCELLED -> a GET cancel by id is refused."""
    created = flow.document(
        flow.call("POST", "/payment", {"paymentrequest": payment_request(reference)})
    )
    payment_id = created["payment"]["id"]
    assert created["payment"]["status"] == "PENDING"
    assert flow.document(flow.call("GET", f"/{payment_id}"))["payment"]["status"] == "PENDING"
    assert flow.document(flow.call("GET", f"?ref={reference}"))["payment"]["id"] == payment_id
    answer = flow.call("POST", f"/{reference}/cancel", {"cancelpaymentrequest": ""})
    assert flow.document(answer) == CANCEL_SUCCESS
    assert_cancelled(flow.document(flow.call("GET", f"/{payment_id}"))["payment"])
    assert_cancelled(flow.document(flow.call("GET", f"?ref={reference}"))["payment"])
    refused = flow.document(flow.call("GET", f"/{payment_id}/cancel"), status=402)
    assert refused["Errors"]["Error"]["Details"]["Detail"]["Value"] == "130111"


@pytest.mark.parametrize("fmt", FORMATS)
def test_lifecycle_with_http_1_0(server: ServerProcess, fmt: str) -> None:
    run_raw_flow(RawFlow(server.port, fmt, "HTTP/1.0", None), f"HTTP10-{fmt}")


@pytest.mark.parametrize("fmt", FORMATS)
def test_lifecycle_with_chunked_bodies(server: ServerProcess, fmt: str) -> None:
    run_raw_flow(RawFlow(server.port, fmt, "HTTP/1.1", 64), f"CHUNKED-{fmt}")


def test_http_1_0_status_line(server: ServerProcess) -> None:
    response = exchange(
        server.port, build_request("GET", "/health", version="HTTP/1.0", headers={})
    )
    assert response.status_line in {"HTTP/1.0 200 OK", "HTTP/1.1 200 OK"}
    assert response.body == b'{"status":"UP"}'


# --- process behaviour: SIGTERM and the access log ---------------------------------------------


def assert_no_traceback(server: ServerProcess) -> None:
    text = server.log_text()
    assert "Traceback" not in text, text
    levels = {record.get("level") for record in server.log_records(strict=False)}
    assert not levels & {"error", "critical"}, text


def test_sigterm_when_idle_exits_cleanly(tmp_path: Path) -> None:
    with running_server(tmp_path, env=UNSIGNED, check_exit=False) as server:
        with httpx.Client(base_url=server.base_url, trust_env=False) as keep_alive:
            assert keep_alive.get("/health").status_code == 200
            code = server.stop()  # an idle keep-alive connection is still open
    assert_no_traceback(server)
    assert code == 0, f"exit status {code} after SIGTERM (negative: killed by that signal)"


BODY_MARKERS = ("MARKER-SENDER-LINE-7F3A", "MARKER-RECIPIENT-CITY-9C1E")


def marked_request(reference: str) -> dict[str, Any]:
    request = payment_request(reference)
    request["sender"]["address"]["line1"] = BODY_MARKERS[0]
    request["recipient"]["address"]["city"] = BODY_MARKERS[1]
    return {"paymentrequest": request}


def send_logged_traffic(server: ServerProcess) -> str:
    """Create (with body markers), retrieve and cancel a payment, then an HTTP/1.0 health
    check; returns the payment id."""
    with httpx.Client(base_url=server.base_url, trust_env=False) as http:
        content, headers = encode(marked_request("ACCESS-LOG-1"), "json")
        created = http.post(path("/payment"), content=content, headers=headers)
        payment_id: str = created.json()["payment"]["id"]
        assert http.get(path(f"/{payment_id}")).status_code == 200
        content, headers = encode({"cancelpaymentrequest": ""}, "xml")
        cancelled = http.post(path(f"/{payment_id}/cancel"), content=content, headers=headers)
        assert cancelled.status_code == 200
    exchange(server.port, build_request("GET", "/health", version="HTTP/1.0", headers={}))
    return payment_id


def test_access_log_is_json_lines_without_bodies(tmp_path: Path) -> None:
    with running_server(tmp_path, env=UNSIGNED, check_exit=False) as server:  # exit: above
        payment_id = send_logged_traffic(server)
        server.stop()  # the log is complete once the server has exited
    records = server.log_records()  # every line of stderr is one JSON object
    assert all({"ts", "level", "logger"} <= record.keys() for record in records)
    access = [r for r in records if r["logger"] == "xborder.access"]
    assert {(r["method"], r["path"], r["status"]) for r in access} >= {
        ("POST", path("/payment"), 200),
        ("GET", path(f"/{payment_id}"), 200),
        ("POST", path(f"/{payment_id}/cancel"), 200),
        ("GET", "/health", 200),
    }
    assert all(isinstance(r["ms"], int | float) and r["ms"] >= 0 for r in access), access
    assert any(r["path"] == "/health" and r.get("http") == "1.0" for r in access)
    text = server.log_text()
    for marker in (*BODY_MARKERS, "cancelpaymentrequest", "paymentrequest"):
        assert marker not in text
    assert_no_traceback(server)
