"""xborder.api.addressing: the URL a client addressed (D11), rebuilt from what the server saw."""

from __future__ import annotations

import pytest

from xborder.api.addressing import Addressing

RECEIVED = "http://10.0.0.5:8080/send/v1/partners/P1/crossborder/a%2Fb?ref=X%2FY&z=1"
PATH = "/send/v1/partners/P1/crossborder/a%2Fb?ref=X%2FY&z=1"


def test_without_configuration_the_received_url_is_kept() -> None:
    assert Addressing().url(RECEIVED, {"x-forwarded-host": "evil.example"}) == RECEIVED


@pytest.mark.parametrize(
    ("public", "expected"),
    [
        ("https://xbs.example.com", "https://xbs.example.com" + PATH),
        ("https://xbs.example.com:8443", "https://xbs.example.com:8443" + PATH),
        ("https://gw.example.com/xbs", "https://gw.example.com/xbs" + PATH),
        ("http://gw.example.com/xbs/", "http://gw.example.com/xbs" + PATH),
    ],
)
def test_public_url_replaces_scheme_host_port_and_adds_a_prefix(public: str, expected: str) -> None:
    headers = {"x-forwarded-host": "ignored.example"}
    assert Addressing(public_url=public, trust_forwarded=True).url(RECEIVED, headers) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "http://10.0.0.5:8080"),
        ({"x-forwarded-proto": "https", "x-forwarded-host": "api.example"}, "https://api.example"),
        (
            {"x-forwarded-proto": "https, http", "x-forwarded-host": "a.example, b"},
            "https://a.example",
        ),
        (
            {
                "x-forwarded-proto": "https",
                "x-forwarded-host": "a.example",
                "x-forwarded-port": "443",
            },
            "https://a.example",
        ),
        (
            {
                "x-forwarded-proto": "https",
                "x-forwarded-host": "a.example",
                "x-forwarded-port": "8443",
            },
            "https://a.example:8443",
        ),
        (
            {"x-forwarded-host": "a.example:9000", "x-forwarded-port": "8443"},
            "http://a.example:9000",
        ),
        ({"forwarded": 'for=1.2.3.4;proto=https;host="a.example:444"'}, "https://a.example:444"),
        ({"forwarded": "For=1.2.3.4;Proto=HTTPS;Host=a.example, proto=http"}, "https://a.example"),
        (
            {"forwarded": "for=1.2.3.4", "x-forwarded-host": "ignored.example"},
            "http://10.0.0.5:8080",
        ),
        ({"x-forwarded-proto": "ftp", "x-forwarded-host": "a/b@evil"}, "http://10.0.0.5:8080"),
        ({"x-forwarded-host": "[::1]:8000"}, "http://[::1]:8000"),
    ],
    ids=[
        "none",
        "proto-host",
        "lists",
        "default-port",
        "port",
        "host-with-port",
        "rfc7239",
        "rfc7239-case",
        "rfc7239-wins",
        "junk-ignored",
        "ipv6",
    ],
)
def test_trusted_forwarded_headers(headers: dict[str, str], expected: str) -> None:
    assert Addressing(trust_forwarded=True).url(RECEIVED, headers) == expected + PATH


def test_url_without_a_path() -> None:
    assert Addressing(public_url="https://x.example").url("http://h", {}) == "https://x.example/"
