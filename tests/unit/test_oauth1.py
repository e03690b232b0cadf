"""xborder.security.oauth1 against Mastercard's own signer (mastercard-oauth1-signer) as oracle."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from oauth1 import coreutils
from oauth1.oauth import OAuth, SignatureMethod
from oauth1.oauth_ext import OAuth1RSA
from oauth1.signer import OAuthSigner

from xborder.security import (
    AuthDeclined,
    AuthenticationFailed,
    AuthHeaderInvalid,
    OAuthParams,
    body_hash,
    parse_authorization_header,
    sign,
    signature_base_string,
    verify,
)

CONSUMER_KEY = "Zq3uLm0Ck_exAmPle-Key!a1b2c3d4e5f6a7b8c9d0"
NONCE = "aB3dE6gH9jK2mN5p"
TIMESTAMP = 1_760_000_000
HOST = "https://api.xborder.test"
PAYMENT_URL = f"{HOST}/send/v1/partners/PARTNER1/crossborder/payment"
JSON_BODY = '{"paymentrequest":{"transaction_reference":"0999999034810154901","amount":"10.00"}}'
XML_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?><paymentrequest>'
    "<transaction_reference>0999999034810154901</transaction_reference></paymentrequest>"
)

CASES = [
    pytest.param("GET", f"{PAYMENT_URL}/130652", None, id="get-no-body"),
    pytest.param("POST", PAYMENT_URL, JSON_BODY, id="post-json"),
    pytest.param("POST", PAYMENT_URL, XML_BODY, id="post-xml"),
    pytest.param("POST", f"{PAYMENT_URL}/130652/cancel", "", id="post-empty-body"),
    pytest.param("GET", f"{PAYMENT_URL}?ref=ABC%2F1", None, id="query-encoded-slash"),
    pytest.param("GET", f"{PAYMENT_URL}?ref=ABC/1", None, id="query-raw-slash"),
    pytest.param("GET", f"{PAYMENT_URL}?b=2&a=9&a=1&a=", None, id="query-repeated-keys"),
    pytest.param("GET", f"{PAYMENT_URL}?q=a b&r=c+d", None, id="query-spaces-raw"),
    pytest.param("GET", f"{PAYMENT_URL}?q=a%20b&r=c+d", None, id="query-spaces-encoded"),
    pytest.param("GET", f"{PAYMENT_URL}?name=José", None, id="query-unicode-raw"),
    pytest.param("GET", f"{PAYMENT_URL}?name=Jos%C3%A9&x=%2f", None, id="query-unicode-encoded"),
    pytest.param("GET", f"{PAYMENT_URL}?flag&empty=", None, id="query-blank-values"),
    pytest.param("GET", f"{PAYMENT_URL}?oauth_x=1&a-b=2&a=1", None, id="query-sort-edge"),
    pytest.param("GET", "https://api.xborder.test:443/p", None, id="https-default-port"),
    pytest.param("GET", "http://api.xborder.test:80/p", None, id="http-default-port"),
    pytest.param("GET", "https://api.xborder.test:8443/p", None, id="explicit-port"),
    pytest.param("GET", "https://api.xborder.test:80/p", None, id="https-port-80-kept"),
    pytest.param("GET", "HTTPS://API.XBorder.TEST/Send/V1", None, id="uppercase-scheme-host"),
    pytest.param("GET", "https://api.xborder.test", None, id="empty-path"),
    pytest.param("GET", f"{HOST}/a%2Fb/caf%C3%A9", None, id="encoded-path"),
    pytest.param("GET", f"{HOST}/a/b;v=1?x=1", None, id="path-params"),
    pytest.param("post", PAYMENT_URL, JSON_BODY, id="lowercase-method"),
]


@pytest.fixture(scope="module")
def signing_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def fixed_oracle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make Mastercard's signer use NONCE and TIMESTAMP."""
    monkeypatch.setattr(coreutils, "get_nonce", lambda length=16: NONCE)
    monkeypatch.setattr(coreutils, "get_timestamp", lambda: TIMESTAMP)
    yield


def keys_for(key: RSAPrivateKey) -> Callable[[str], RSAPublicKey | None]:
    public = key.public_key()
    return lambda consumer_key: public if consumer_key == CONSUMER_KEY else None


def oracle_header(key: RSAPrivateKey, method: str, url: str, body: str | None) -> str:
    return str(OAuth.get_authorization_header(url, method, body, CONSUMER_KEY, key))


def check(
    key: RSAPrivateKey, method: str, url: str, header: str | None, body: bytes, **kw: int
) -> OAuthParams:
    now = kw.pop("now", TIMESTAMP)
    return verify(method, url, header, body, public_key_for=keys_for(key), now=now, **kw)


def replace_param(header: str, name: str, value: str) -> str:
    start = header.index(f'{name}="') + len(name) + 2
    return header[:start] + value + header[header.index('"', start) :]


# --- Mastercard's signer is accepted -------------------------------------------------------


@pytest.mark.parametrize(("method", "url", "payload"), CASES)
def test_mastercard_signed_requests_verify(
    signing_key: RSAPrivateKey, method: str, url: str, payload: str | None
) -> None:
    header = oracle_header(signing_key, method, url, payload)
    body = (payload or "").encode()
    params = verify(
        method.upper(),
        url,
        header,
        body,
        public_key_for=keys_for(signing_key),
        now=int(time.time()),
    )
    assert params.consumer_key == CONSUMER_KEY
    assert params.body_hash == body_hash(body)


@pytest.mark.usefixtures("fixed_oracle")
@pytest.mark.parametrize(("method", "url", "payload"), CASES)
def test_base_string_and_header_are_identical_to_the_signer(
    signing_key: RSAPrivateKey, method: str, url: str, payload: str | None
) -> None:
    body = (payload or "").encode()
    ours = sign(
        method,
        url,
        body,
        consumer_key=CONSUMER_KEY,
        private_key=signing_key,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    oracle = oracle_header(signing_key, method, url, payload)
    assert ours == oracle  # RSASSA-PKCS1-v1_5 is deterministic: same base string, same bytes
    params = dict(parse_authorization_header(ours).params)
    del params["oauth_signature"]  # the signer builds its base string before adding it
    assert signature_base_string(method, url, params) == OAuth.get_base_string(url, method, params)
    check(signing_key, method.upper(), url, ours, body)


def test_dict_payload_is_hashed_as_the_signer_serialises_it(signing_key: RSAPrivateKey) -> None:
    payload = {"cancelpayment": {"reason": "Customer request", "note": "é"}}
    header = OAuth.get_authorization_header(PAYMENT_URL, "POST", payload, CONSUMER_KEY, signing_key)
    body = json.dumps(payload).encode()
    check(signing_key, "POST", PAYMENT_URL, header, body, now=int(time.time()))


def test_requests_auth_helper_oauth1rsa_verifies(signing_key: RSAPrivateKey) -> None:
    request = requests.Request(
        "POST", PAYMENT_URL, params={"ref": "ABC/1 x", "n": "é"}, data=JSON_BODY.encode()
    ).prepare()
    OAuth1RSA(CONSUMER_KEY, signing_key)(request)
    assert isinstance(request.body, bytes)
    header = str(request.headers["Authorization"])
    check(signing_key, "POST", str(request.url), header, request.body, now=int(time.time()))


def test_oauth_signer_sign_request_verifies(signing_key: RSAPrivateKey) -> None:
    request = requests.Request("POST", PAYMENT_URL, data=XML_BODY).prepare()
    OAuthSigner(CONSUMER_KEY, signing_key).sign_request(PAYMENT_URL, request)
    body = XML_BODY.encode()
    header = str(request.headers["Authorization"])
    check(signing_key, "POST", PAYMENT_URL, header, body, now=int(time.time()))


QUERY_TOKENS = ["a", "Z", "0", "=", "&", "+", " ", "%", "%2F", "%2f", "%20", "%C3%A9", "%FF"]
QUERY_TOKENS += ["é", "€", "~", "*", "!", "'", ";", "/", "?", ":", "@", "$", ",", "oauth_x"]


@settings(max_examples=300, deadline=None)
@given(
    query=st.lists(st.sampled_from(QUERY_TOKENS), max_size=12).map("".join),
    authority=st.sampled_from(["api.xborder.test", "API.Xborder.Test:443", "h:80", "h:8080"]),
    scheme=st.sampled_from(["https", "http", "HTTPS"]),
    path=st.sampled_from(["", "/", "/a/b", "/a%2Fb", "/p;x=1", "/caf%C3%A9", "/café"]),
)
def test_base_string_matches_the_signer_for_any_url(
    query: str, authority: str, scheme: str, path: str
) -> None:
    url = f"{scheme}://{authority}{path}?{query}"
    params = {
        "oauth_consumer_key": CONSUMER_KEY,
        "oauth_nonce": NONCE,
        "oauth_timestamp": str(TIMESTAMP),
        "oauth_signature_method": "RSA-SHA256",
        "oauth_version": "1.0",
        "oauth_body_hash": body_hash(b""),
    }
    assert signature_base_string("GET", url, params) == OAuth.get_base_string(url, "GET", params)


def test_base_string_shape() -> None:
    params = {"oauth_consumer_key": "k!1", "oauth_body_hash": "a+/=", "oauth_signature": "x"}
    url = "HTTPS://API.Xborder.TEST:443/p%2Fq?z=%2F&a=b+c"
    assert signature_base_string("get", url, params) == (
        "GET&https%3A%2F%2Fapi.xborder.test%2Fp%252Fq&"
        "a%3Db%2520c%26oauth_body_hash%3Da%2B%2F%3D%26oauth_consumer_key%3Dk%211%26z%3D%252F"
    )


# --- our own signer ------------------------------------------------------------------------


def test_sign_produces_mastercard_header_format(signing_key: RSAPrivateKey) -> None:
    header = sign("POST", PAYMENT_URL, b"{}", consumer_key=CONSUMER_KEY, private_key=signing_key)
    names = [part.split("=", 1)[0] for part in header.removeprefix("OAuth ").split(",")]
    assert header.startswith("OAuth oauth_consumer_key=")
    assert names == [
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_timestamp",
        "oauth_signature_method",
        "oauth_version",
        "oauth_body_hash",
        "oauth_signature",
    ]
    params = parse_authorization_header(header)
    assert len(params.nonce) == 16 and params.nonce.isalnum()
    assert abs(params.timestamp - time.time()) < 5
    assert params.signature_method == "RSA-SHA256" and params.version == "1.0"
    check(signing_key, "POST", PAYMENT_URL, header, b"{}", now=params.timestamp)


@pytest.mark.parametrize("bad", ['a"b', "a,b", "a b", "a%41", "", "é"])
def test_sign_refuses_consumer_keys_that_break_the_header(
    signing_key: RSAPrivateKey, bad: str
) -> None:
    with pytest.raises(ValueError):
        sign("GET", PAYMENT_URL, b"", consumer_key=bad, private_key=signing_key)


def test_empty_body_hash_is_the_documented_constant() -> None:
    assert body_hash(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


# --- parsing ---------------------------------------------------------------------------------


@pytest.fixture
def good_header(signing_key: RSAPrivateKey) -> str:
    return sign(
        "POST",
        PAYMENT_URL,
        JSON_BODY.encode(),
        consumer_key=CONSUMER_KEY,
        private_key=signing_key,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )


def test_parse_returns_decoded_params(good_header: str) -> None:
    params = parse_authorization_header(good_header)
    assert (params.consumer_key, params.nonce, params.timestamp) == (CONSUMER_KEY, NONCE, TIMESTAMP)
    assert params.body_hash == body_hash(JSON_BODY.encode())
    assert len(params.signature) == 256
    assert set(params.params) == {
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_timestamp",
        "oauth_signature_method",
        "oauth_version",
        "oauth_body_hash",
        "oauth_signature",
    }
    with pytest.raises(TypeError):
        params.params["oauth_nonce"] = "x"  # type: ignore[index]
    assert "signature" not in repr(params).replace("signature_method", "")


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda h: h.replace(",", ", "), id="space-after-comma"),
        pytest.param(lambda h: h.replace(",", " ,\t"), id="whitespace-around-comma"),
        pytest.param(lambda h: "oauth" + h[5:], id="lowercase-scheme"),
        pytest.param(lambda h: "OAuth  " + h[6:] + "  ", id="extra-spaces"),
        pytest.param(lambda h: h + ',realm="XBS"', id="realm-ignored"),
        pytest.param(
            lambda h: (
                replace_param(h, "oauth_body_hash", body_hash(JSON_BODY.encode()))
                .replace("+", "%2B")
                .replace('=",', '%3D",')
            ),
            id="rfc-encoded-body-hash",
        ),
    ],
)
def test_tolerated_header_variants(
    signing_key: RSAPrivateKey, good_header: str, rewrite: Callable[[str], str]
) -> None:
    check(signing_key, "POST", PAYMENT_URL, rewrite(good_header), JSON_BODY.encode())


def test_version_is_optional_as_in_rfc5849(good_header: str) -> None:
    params = parse_authorization_header(good_header.replace(',oauth_version="1.0"', ""))
    assert params.version is None
    assert "oauth_version" not in params.params


# --- refusals, in the order of D11 -----------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("Bearer abc.def.ghi", id="not-oauth"),
        pytest.param("OAuth", id="no-params"),
        pytest.param("OAuth oauth_nonce=abc", id="unquoted"),
        pytest.param('OAuth oauth_nonce="a",,oauth_x="b"', id="empty-item"),
        pytest.param('OAuth oauth_nonce="a" oauth_x="b"', id="no-comma"),
        pytest.param('OAuth oauth_nonce="a"x', id="trailing-junk"),
        pytest.param("OAuth " + "x" * 9000, id="too-long"),
    ],
)
def test_missing_or_unparseable_header_is_invalid(
    signing_key: RSAPrivateKey, header: str | None
) -> None:
    with pytest.raises(AuthHeaderInvalid):
        check(signing_key, "POST", PAYMENT_URL, header, b"")


@pytest.mark.parametrize(
    "rewrite",
    [
        pytest.param(lambda h: replace_param(h, "oauth_signature_method", "HMAC-SHA1"), id="hmac"),
        pytest.param(lambda h: replace_param(h, "oauth_signature_method", "rsa-sha256"), id="case"),
        pytest.param(lambda h: replace_param(h, "oauth_signature_method", "RSA-PSS"), id="pss"),
        pytest.param(lambda h: h.replace(",oauth_body_hash=", ",oauth_x="), id="no-body-hash"),
        pytest.param(lambda h: h.replace("oauth_nonce=", "oauth_x="), id="no-nonce"),
        pytest.param(lambda h: replace_param(h, "oauth_consumer_key", ""), id="empty-key"),
        pytest.param(lambda h: h + f',oauth_nonce="{NONCE}"', id="duplicated-nonce"),
        pytest.param(lambda h: h + ',realm="a",realm="b"', id="duplicated-realm"),
        pytest.param(lambda h: h + ',foo="bar"', id="unknown-param"),
        pytest.param(lambda h: replace_param(h, "oauth_version", "2.0"), id="version"),
        pytest.param(lambda h: replace_param(h, "oauth_timestamp", "17e8"), id="timestamp"),
        pytest.param(lambda h: replace_param(h, "oauth_timestamp", "-1"), id="negative-ts"),
        pytest.param(lambda h: replace_param(h, "oauth_signature", "%%%"), id="signature"),
        pytest.param(lambda h: replace_param(h, "oauth_nonce", "%FF"), id="bad-utf8"),
        pytest.param(lambda h: replace_param(h, "oauth_nonce", "n" * 129), id="long-nonce"),
    ],
)
def test_malformed_parameters_are_invalid(
    signing_key: RSAPrivateKey, good_header: str, rewrite: Callable[[str], str]
) -> None:
    with pytest.raises(AuthHeaderInvalid) as caught:
        check(signing_key, "POST", PAYMENT_URL, rewrite(good_header), JSON_BODY.encode())
    assert caught.value.reason_code == "INVALID_AUTH_HEADER"
    assert caught.value.source == "Gateway"


def test_pss_signature_from_the_signer_is_refused_as_a_header_problem(
    signing_key: RSAPrivateKey,
) -> None:
    header = OAuth.get_authorization_header(
        PAYMENT_URL, "GET", None, CONSUMER_KEY, signing_key, SignatureMethod.RSA_PSS_SHA256
    )
    assert 'oauth_signature_method="RSA-PSS"' in header
    with pytest.raises(AuthHeaderInvalid):
        check(signing_key, "GET", PAYMENT_URL, header, b"", now=int(time.time()))


def test_header_problem_wins_over_unknown_key(signing_key: RSAPrivateKey, good_header: str) -> None:
    header = replace_param(good_header, "oauth_signature_method", "HMAC-SHA1")
    header = replace_param(header, "oauth_consumer_key", "unknown")
    with pytest.raises(AuthHeaderInvalid):
        check(signing_key, "POST", PAYMENT_URL, header, b"tampered", now=0)


def test_unknown_consumer_key_is_declined(signing_key: RSAPrivateKey, good_header: str) -> None:
    header = replace_param(good_header, "oauth_consumer_key", "someone-else")
    with pytest.raises(AuthDeclined) as caught:
        check(signing_key, "POST", PAYMENT_URL, header, b"tampered", now=0)
    assert caught.value.reason == "unknown consumer key"
    assert caught.value.reason_code == "DECLINED"


@pytest.mark.parametrize("offset", [301, -301, 10**9])
def test_timestamp_outside_window_is_declined(
    signing_key: RSAPrivateKey, good_header: str, offset: int
) -> None:
    with pytest.raises(AuthDeclined):
        check(signing_key, "POST", PAYMENT_URL, good_header, b"tampered", now=TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_timestamp_on_window_edge_is_accepted(
    signing_key: RSAPrivateKey, good_header: str, offset: int
) -> None:
    check(signing_key, "POST", PAYMENT_URL, good_header, JSON_BODY.encode(), now=TIMESTAMP + offset)


def test_tolerance_is_configurable(signing_key: RSAPrivateKey, good_header: str) -> None:
    with pytest.raises(AuthDeclined):
        check(signing_key, "POST", PAYMENT_URL, good_header, b"", now=TIMESTAMP + 61, tolerance=60)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        pytest.param("POST", PAYMENT_URL, JSON_BODY.replace("10.00", "99.00"), id="body"),
        pytest.param("POST", PAYMENT_URL, "", id="body-dropped"),
        pytest.param("PUT", PAYMENT_URL, JSON_BODY, id="method"),
        pytest.param("POST", PAYMENT_URL + "/x", JSON_BODY, id="path"),
        pytest.param(
            "POST", PAYMENT_URL.replace("PARTNER1", "partner1"), JSON_BODY, id="path-case"
        ),
        pytest.param("POST", PAYMENT_URL + "?ref=1", JSON_BODY, id="query-added"),
        pytest.param("POST", PAYMENT_URL.replace("xborder", "xb0rder"), JSON_BODY, id="host"),
        pytest.param("POST", PAYMENT_URL.replace("https", "http"), JSON_BODY, id="scheme"),
        pytest.param("POST", PAYMENT_URL.replace(".test/", ".test:8443/"), JSON_BODY, id="port"),
    ],
)
def test_tampered_request_fails_authentication(
    signing_key: RSAPrivateKey, good_header: str, method: str, url: str, body: str
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        check(signing_key, method, url, good_header, body.encode())
    assert caught.value.reason_code == "AUTHENTICATION_FAILED"


def test_tampered_query_value_fails_authentication(signing_key: RSAPrivateKey) -> None:
    url = f"{PAYMENT_URL}?ref=ABC%2F1&a=1&a=2"
    header = sign("GET", url, b"", consumer_key=CONSUMER_KEY, private_key=signing_key)
    now = parse_authorization_header(header).timestamp
    check(signing_key, "GET", url, header, b"", now=now)
    for tampered in (url.replace("%2F1", "%2F2"), url.replace("a=2", "a=3"), url + "&b=1"):
        with pytest.raises(AuthenticationFailed):
            check(signing_key, "GET", tampered, header, b"", now=now)


def test_wrong_key_fails_authentication(other_key: RSAPrivateKey, good_header: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        check(other_key, "POST", PAYMENT_URL, good_header, JSON_BODY.encode())
    assert caught.value.reason == "signature does not verify"
    assert caught.value.__cause__ is not None


def test_tampered_signature_fails_authentication(
    signing_key: RSAPrivateKey, good_header: str
) -> None:
    signature = parse_authorization_header(good_header).params["oauth_signature"]
    flipped = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))
    header = replace_param(good_header, "oauth_signature", flipped.replace("+", "%2B"))
    with pytest.raises(AuthenticationFailed):
        check(signing_key, "POST", PAYMENT_URL, header, JSON_BODY.encode())


def test_body_hash_checked_before_signature(signing_key: RSAPrivateKey, good_header: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        check(signing_key, "POST", PAYMENT_URL, good_header, b"other")
    assert caught.value.reason == "body hash does not match the body"


def test_path_parameters_are_not_signed_as_in_the_signer(signing_key: RSAPrivateKey) -> None:
    """Signer quirk, kept for compatibility: urlparse() drops ``;params`` from the base URL."""
    url = f"{HOST}/a;v=1"
    header = sign("GET", url, b"", consumer_key=CONSUMER_KEY, private_key=signing_key)
    now = parse_authorization_header(header).timestamp
    check(signing_key, "GET", f"{HOST}/a;v=2", header, b"", now=now)


def test_reasons_hold_no_secrets(signing_key: RSAPrivateKey, good_header: str) -> None:
    params = parse_authorization_header(good_header)
    failures: list[Exception] = []
    for header, body in ((good_header, b"x"), (good_header + ",x=1", b"")):
        try:
            check(signing_key, "POST", PAYMENT_URL, header, body)
        except (AuthenticationFailed, AuthHeaderInvalid) as exc:
            failures.append(exc)
    assert len(failures) == 2
    for failure in failures:
        for secret in (params.params["oauth_signature"], CONSUMER_KEY, NONCE):
            assert secret not in str(failure)


def test_a_refusal_explains_what_the_server_computed(
    signing_key: RSAPrivateKey, other_key: RSAPrivateKey, good_header: str
) -> None:
    """Issue 14: the journal shows the base string and the body hash the server expected."""
    params = parse_authorization_header(good_header).params
    expected_base = signature_base_string("POST", PAYMENT_URL, params)
    with pytest.raises(AuthenticationFailed) as wrong_body:
        check(signing_key, "POST", PAYMENT_URL, good_header, b"other")
    assert wrong_body.value.expected_body_hash == body_hash(b"other")
    assert wrong_body.value.base_string == expected_base
    with pytest.raises(AuthenticationFailed) as wrong_key:
        check(other_key, "POST", PAYMENT_URL, good_header, JSON_BODY.encode())
    assert wrong_key.value.base_string == expected_base
    assert "oauth_signature=" not in expected_base
