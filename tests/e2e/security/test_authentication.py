"""D11 and D13 through the in-process app: every row of the authentication table, requests
signed by Mastercard's own signer (mastercard-oauth1-signer) unless a row needs a forged one."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from oauth1.oauth import OAuth, SignatureMethod
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.security.conftest import (
    BASE,
    MTF_KEY,
    MTF_PARTNER,
    PLAIN_KEY,
    PROD_KEY,
    PROD_PARTNER,
    SANDBOX_BOUND,
    SANDBOX_KEY,
    Api,
    gateway_error,
)
from tests.payloads import PARTNER, encode, path
from tests.signing import mastercard_header
from xborder.api.app import create_app
from xborder.api.codecs import XML
from xborder.clock import FixedClock
from xborder.config import Settings
from xborder.security import oauth1

RETRIEVE = "?ref=NOT-THERE"  # 404 Source GetPayment proves the request got past the gate


def signed_with(
    api: Api,
    *,
    url: str | None = None,
    method: str | None = None,
    body: bytes | None = None,
    timestamp: int | None = None,
    consumer_key: str = SANDBOX_KEY,
) -> Callable[[str, str, bytes], str]:
    """A signer that signs something other than what is sent (a tampered request)."""

    def sign(sent_method: str, sent_url: str, sent_body: bytes) -> str:
        return oauth1.sign(
            method or sent_method,
            url or sent_url,
            sent_body if body is None else body,
            consumer_key=consumer_key,
            private_key=api.keys.signer.key,
            timestamp=timestamp,
        )

    return sign


# --- accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_mastercard_signed_create_and_retrieve_are_accepted(api: Api, fmt: str) -> None:
    created = api.create(f"SIGNED-{fmt}", fmt)
    assert created.status_code == 200, created.text
    assert "x-encrypted" not in created.headers and "warning" not in created.headers
    retrieved = api.call("GET", "?ref=SIGNED-" + fmt)
    assert retrieved.status_code == 200, retrieved.text


def test_cancel_by_post_and_get_is_accepted(api: Api) -> None:
    assert api.create("CANCEL-ME-1").status_code == 200
    assert api.create("CANCEL-ME-2").status_code == 200
    content, headers = encode({"cancelpaymentrequest": ""}, "json")
    assert api.call("POST", "/CANCEL-ME-1/cancel", content, headers=headers).status_code == 200
    assert api.call("GET", "/CANCEL-ME-2/cancel").status_code == 200


def test_unknown_resource_behind_a_good_signature_is_a_normal_404(api: Api) -> None:
    response = api.call("GET", RETRIEVE)
    assert response.status_code == 404
    assert response.json()["Errors"]["Error"]["Source"] == "GetPayment"


def test_our_own_signer_is_accepted(api: Api) -> None:
    assert api.call("GET", RETRIEVE, sign=signed_with(api)).status_code == 404


def test_timestamp_inside_the_window_is_accepted(api: Api) -> None:
    sign = signed_with(api, timestamp=int(time.time()) - 280)
    assert api.call("GET", RETRIEVE, sign=sign).status_code == 404


# --- 403 AUTHENTICATION_FAILED ---------------------------------------------------------------


TAMPERED = {
    "body": dict(body=b'{"paymentrequest":{}}'),
    "method": dict(method="GET"),
    "path": dict(url=BASE + path("/OTHER-REF/cancel")),
    "query": dict(url=BASE + path("/CANCEL-ME/cancel") + "?x=1"),
    "host": dict(url="http://api.elsewhere.example" + path("/CANCEL-ME/cancel")),
    "scheme": dict(url="https://testserver" + path("/CANCEL-ME/cancel")),
    "port": dict(url="http://testserver:8443" + path("/CANCEL-ME/cancel")),
}


@pytest.mark.parametrize("change", sorted(TAMPERED))
def test_tampered_request_fails_authentication(api: Api, change: str) -> None:
    assert api.create("CANCEL-ME").status_code == 200
    content, headers = encode({"cancelpaymentrequest": ""}, "json")
    sign = signed_with(api, **TAMPERED[change])  # type: ignore[arg-type]
    response = api.call("POST", "/CANCEL-ME/cancel", content, headers=headers, sign=sign)
    assert gateway_error(response) == (403, "AUTHENTICATION_FAILED")
    assert api.call("GET", "?ref=CANCEL-ME").json()["payment"]["status"] == "PENDING"


def test_tampered_query_of_a_retrieve_fails(api: Api) -> None:
    sign = signed_with(api, url=BASE + path("?ref=SOMETHING-ELSE"))
    assert gateway_error(api.call("GET", "?ref=NOT-THERE", sign=sign)) == (
        403,
        "AUTHENTICATION_FAILED",
    )


def test_tampered_host_header_fails(api: Api) -> None:
    response = api.call("GET", RETRIEVE, headers={"Host": "evil.example"})
    assert gateway_error(response) == (403, "AUTHENTICATION_FAILED")


def test_wrong_private_key_fails(api: Api) -> None:
    response = api.call("GET", RETRIEVE, key=api.keys.stranger)
    assert gateway_error(response) == (403, "AUTHENTICATION_FAILED")


def test_body_hash_of_other_bytes_fails(api: Api) -> None:
    body, headers = encode({"paymentrequest": {"transaction_reference": "X"}}, "json")

    def sign(method: str, url: str, _body: bytes) -> str:
        return mastercard_header(url, method, body + b" ", SANDBOX_KEY, api.keys.signer.key)

    response = api.call("POST", "/payment", body, headers=headers, sign=sign)
    assert gateway_error(response) == (403, "AUTHENTICATION_FAILED")


# --- 401 DECLINED ----------------------------------------------------------------------------


def test_unknown_consumer_key_is_declined(api: Api) -> None:
    response = api.call("GET", RETRIEVE, consumer_key="nobody!0000")
    assert gateway_error(response) == (401, "DECLINED")


@pytest.mark.parametrize("skew", [-301, 330, -86_400], ids=["stale", "future", "a-day-old"])
def test_timestamp_outside_five_minutes_is_declined(api: Api, skew: int) -> None:
    sign = signed_with(api, timestamp=int(time.time()) + skew)
    assert gateway_error(api.call("GET", RETRIEVE, sign=sign)) == (401, "DECLINED")


def test_replayed_nonce_is_declined(api: Api) -> None:
    target = path(RETRIEVE)
    header = mastercard_header(BASE + target, "GET", None, SANDBOX_KEY, api.keys.signer.key)
    first = api.http.get(target, headers={"Authorization": header})
    second = api.http.get(target, headers={"Authorization": header})
    assert first.status_code == 404
    assert gateway_error(second) == (401, "DECLINED")


def test_replayed_create_creates_nothing(api: Api) -> None:
    content, headers = encode({"paymentrequest": {"transaction_reference": "R"}}, "json")
    target = path("/payment")
    header = mastercard_header(BASE + target, "POST", content, SANDBOX_KEY, api.keys.signer.key)
    all_headers = {**headers, "Authorization": header}
    api.http.post(target, content=content, headers=all_headers)
    assert gateway_error(api.http.post(target, content=content, headers=all_headers))[0] == 401


def test_nonce_of_another_project_is_not_a_replay(api: Api) -> None:
    nonce, now = "SameNonce1234567", int(time.time())

    def sign_as(consumer_key: str) -> Callable[[str, str, bytes], str]:
        def sign(method: str, url: str, body: bytes) -> str:
            return oauth1.sign(
                method,
                url,
                body,
                consumer_key=consumer_key,
                private_key=api.keys.signer.key,
                nonce=nonce,
                timestamp=now,
            )

        return sign

    assert api.call("GET", RETRIEVE, sign=sign_as(SANDBOX_KEY)).status_code == 404
    assert api.call("GET", RETRIEVE, sign=sign_as(PLAIN_KEY)).status_code == 404


ENTITLEMENT = [
    # (consumer key, signer attribute, partner, passes)
    (SANDBOX_KEY, "signer", PARTNER, True),  # any unbound partner
    (SANDBOX_KEY, "signer", SANDBOX_BOUND, True),  # bound to a sandbox project
    (PLAIN_KEY, "signer", SANDBOX_BOUND, True),  # ... even another sandbox project
    (SANDBOX_KEY, "signer", MTF_PARTNER, False),  # sandbox keys never reach mtf
    (SANDBOX_KEY, "signer", PROD_PARTNER, False),  # ... nor production
    (MTF_KEY, "mtf_signer", MTF_PARTNER, True),  # its own partner
    (MTF_KEY, "mtf_signer", PARTNER, False),  # mtf keys never reach sandbox partners
    (MTF_KEY, "mtf_signer", PROD_PARTNER, False),  # nor another project's partner
    (PROD_KEY, "prod_signer", PROD_PARTNER, True),
    (PROD_KEY, "prod_signer", MTF_PARTNER, False),
    (PROD_KEY, "prod_signer", SANDBOX_BOUND, False),
]


@pytest.mark.parametrize(("consumer_key", "signer", "partner", "passes"), ENTITLEMENT)
def test_entitlement_of_d13(
    api: Api, consumer_key: str, signer: str, partner: str, passes: bool
) -> None:
    key = getattr(api.keys, signer)
    response = api.call("GET", RETRIEVE, partner=partner, consumer_key=consumer_key, key=key)
    if passes:
        assert response.status_code == 404, response.text
    else:
        assert gateway_error(response) == (401, "DECLINED")


# --- 400 INVALID_AUTH_HEADER -----------------------------------------------------------------


def test_missing_header_is_invalid(api: Api) -> None:
    response = api.http.get(path(RETRIEVE))
    assert gateway_error(response) == (400, "INVALID_AUTH_HEADER")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig",
        "OAuth",
        "OAuth garbage",
        'OAuth oauth_consumer_key="k",oauth_nonce="n"',
        'OAuth oauth_consumer_key="k", oauth_consumer_key="k2"',
    ],
    ids=["empty", "basic", "bearer", "bare-oauth", "garbage", "missing-params", "duplicate"],
)
def test_malformed_header_is_invalid(api: Api, header: str) -> None:
    response = api.http.get(path(RETRIEVE), headers={"Authorization": header})
    assert gateway_error(response) == (400, "INVALID_AUTH_HEADER")


@pytest.mark.parametrize("drop", ["oauth_signature", "oauth_body_hash", "oauth_timestamp"])
def test_header_without_a_required_parameter_is_invalid(api: Api, drop: str) -> None:
    def sign(method: str, url: str, body: bytes) -> str:
        header = mastercard_header(url, method, body, SANDBOX_KEY, api.keys.signer.key)
        params = [p for p in header[len("OAuth ") :].split(",") if not p.startswith(drop + "=")]
        return "OAuth " + ",".join(params)

    assert gateway_error(api.call("GET", RETRIEVE, sign=sign)) == (400, "INVALID_AUTH_HEADER")


def test_another_signature_method_is_invalid(api: Api) -> None:
    """Mastercard's signer can also sign RSA-PSS; the XBS gateway takes RSA-SHA256 only."""

    def sign(method: str, url: str, body: bytes) -> str:
        return str(
            OAuth.get_authorization_header(
                url,
                method,
                None,
                SANDBOX_KEY,
                api.keys.signer.key,
                signature_method=SignatureMethod.RSA_PSS_SHA256,
            )
        )

    assert gateway_error(api.call("GET", RETRIEVE, sign=sign)) == (400, "INVALID_AUTH_HEADER")


def test_header_problem_wins_over_an_unknown_key(api: Api) -> None:
    header = 'OAuth oauth_consumer_key="nobody",oauth_signature_method="HMAC-SHA1"'
    response = api.http.get(path(RETRIEVE), headers={"Authorization": header})
    assert gateway_error(response)[0] == 400


# --- the envelope ----------------------------------------------------------------------------


def test_gateway_error_envelope_in_json(api: Api) -> None:
    response = api.http.get(path(RETRIEVE), headers={"Accept": "application/json"})
    assert response.content == (
        b'{"Errors":{"Error":{"RequestId":null,"Source":"Gateway",'
        b'"ReasonCode":"INVALID_AUTH_HEADER","Description":"Invalid or missing Authorization'
        b' header","Recoverable":"false","Details":null}}}'
    )


def test_gateway_error_envelope_in_xml(api: Api) -> None:
    response = api.call(
        "GET", RETRIEVE, consumer_key="nobody!0", headers={"Accept": "application/xml"}
    )
    assert response.status_code == 401
    assert XML.decode(response.content) == {
        "Errors": {
            "Error": {
                "Source": "Gateway",
                "ReasonCode": "DECLINED",
                "Description": "Unauthorized - Access Not Granted",
                "Recoverable": "false",
            }
        }
    }


def test_route_errors_come_before_authentication(api: Api) -> None:
    """Unknown paths and malformed partner ids are not XBS paths: no gateway answer."""
    assert api.http.get("/send/v1/nothing").status_code == 404
    response = api.http.get(path(RETRIEVE, partner="has space"))
    assert response.json()["Errors"]["Error"]["Source"] == "partner-id"


def test_a_request_refused_after_the_gate_consumes_its_nonce_for_every_process(
    api: Api, signed_settings: Settings, engine: Engine, clock: FixedClock
) -> None:
    """Issue 12: the nonce is recorded in the request's own transaction, refusal or not; a
    second app on the same database (another worker) knows it without sharing a cache."""
    target = path(RETRIEVE)
    header = mastercard_header(BASE + target, "GET", None, SANDBOX_KEY, api.keys.signer.key)
    assert api.http.get(target, headers={"Authorization": header}).status_code == 404
    other = create_app(signed_settings, engine=engine, clock=clock)
    with TestClient(other, base_url=BASE) as http:
        assert gateway_error(http.get(target, headers={"Authorization": header})) == (
            401,
            "DECLINED",
        )
