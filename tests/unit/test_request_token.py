"""OAuth 2.0 request tokens (D23): every refusal row of the verifier, the generator's shape,
and the client's RequestTokenAuth.

Tokens under test are forged here with jwcrypto directly (or by hand, for ``alg`` ``none``),
not with ``make_request_token``, so the verifier is never checked against itself. The
expected ``x5t#S256`` comes from an RFC 7638 thumbprint written here and pinned to the RFC's
own example, and the expected header and claims from Mastercard's reference client
(``Oauth2RequestTokenGenerator``: ``alg``, ``typ`` JWT, ``cty`` JWS, ``kid``, ``x5c``,
``x5t#S256``; ``iat`` = ``nbf``, ``exp`` = +15 min, ``jti``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from jwcrypto.common import base64url_encode
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from tests.certificates import private_key_pem, self_signed
from xborder.client import RequestTokenAuth
from xborder.errors import ConfigError
from xborder.security.errors import AuthDeclined, AuthenticationFailed, AuthHeaderInvalid
from xborder.security.request_token import (
    RequestToken,
    make_request_token,
    signing_algorithm,
    verify_request_token,
)

CONSUMER_KEY = "Zq3uLm0Ck_exAmPle-Key!a1b2c3d4e5f6a7b8c9d0"
EC_CONSUMER_KEY = "EcProject!0123456789abcdef"
NOW = 1_760_000_000
JTI = "5f0e1a2b3c4d5e6f708192a3b4c5d6e7"
DROP = object()  # a header or claim value meaning "leave this member out"


@dataclass(frozen=True)
class Pair:
    """A private key and its self-signed certificate, as PEM and as objects."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key_pem: str
    certificate: x509.Certificate
    certificate_pem: str
    alg: str


def make_pair(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, alg: str) -> Pair:
    certificate = self_signed(key, f"xborder test {alg}")
    certificate_text = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return Pair(key, private_key_pem(key), certificate, certificate_text, alg)


@pytest.fixture(scope="module")
def rsa_pair() -> Pair:
    return make_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


@pytest.fixture(scope="module")
def other_rsa_pair() -> Pair:
    return make_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")


@pytest.fixture(scope="module")
def ec_pair() -> Pair:
    return make_pair(ec.generate_private_key(ec.SECP256R1()), "ES256")


# --- independent oracles -------------------------------------------------------------------


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def thumbprint_of_members(members: Mapping[str, str]) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, without whitespace."""
    canonical = json.dumps(dict(members), separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def rfc7638(certificate: x509.Certificate) -> str:
    public = certificate.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        e, n = (v.to_bytes((v.bit_length() + 7) // 8, "big") for v in (numbers.e, numbers.n))
        return thumbprint_of_members({"e": b64url(e), "kty": "RSA", "n": b64url(n)})
    assert isinstance(public, ec.EllipticCurvePublicKey)
    point = public.public_numbers()
    x, y = (v.to_bytes(32, "big") for v in (point.x, point.y))
    return thumbprint_of_members({"crv": "P-256", "kty": "EC", "x": b64url(x), "y": b64url(y)})


def x5c_of(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def decoded(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def test_thumbprint_oracle_gives_the_rfc_7638_example() -> None:
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
        "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR"
        "0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTW"
        "hAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    members = {"e": "AQAB", "kty": "RSA", "n": n}
    assert thumbprint_of_members(members) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- forging tokens ------------------------------------------------------------------------


def header_for(pair: Pair, kid: str = CONSUMER_KEY) -> dict[str, Any]:
    return {
        "alg": pair.alg,
        "typ": "JWT",
        "cty": "JWS",
        "kid": kid,
        "x5c": [x5c_of(pair.certificate)],
        "x5t#S256": rfc7638(pair.certificate),
    }


def claims_at(now: int = NOW, lifetime: int = 900) -> dict[str, Any]:
    return {"iat": now, "nbf": now, "exp": now + lifetime, "jti": JTI}


def changed(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for name, value in changes.items():
        if value is DROP:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def forge(
    pair: Pair,
    *,
    header: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | bytes | None = None,
    signer: Pair | None = None,
    kid: str = CONSUMER_KEY,
) -> str:
    """A token for ``pair``'s certificate; ``header``/``claims`` change the defaults,
    ``signer`` signs with another key than ``pair``'s."""
    protected = changed(header_for(pair, kid), header or {})
    if isinstance(claims, bytes):
        payload = claims
    else:
        payload = json.dumps(changed(claims_at(), claims or {})).encode()
    token = JWS(payload)
    token.allowed_algs = [protected["alg"]]
    key = JWK.from_pem((signer or pair).key_pem.encode())
    token.add_signature(key, alg=protected["alg"], protected=json.dumps(protected))
    return str(token.serialize(compact=True))


def unsigned(header: Mapping[str, Any], claims: Mapping[str, Any], signature: str = "") -> str:
    """An ``alg`` ``none`` style token, assembled by hand: no library makes one willingly."""
    parts = (json.dumps(dict(header)).encode(), json.dumps(dict(claims)).encode())
    return ".".join([*(b64url(part) for part in parts), signature])


@pytest.fixture
def registry(rsa_pair: Pair, ec_pair: Pair) -> dict[str, str]:
    return {CONSUMER_KEY: rsa_pair.certificate_pem, EC_CONSUMER_KEY: ec_pair.certificate_pem}


def check(
    registry: Mapping[str, str], authorization: str | None, *, now: int = NOW, **kw: int
) -> RequestToken:
    return verify_request_token(authorization, certificate_for=registry.get, now=now, **kw)


def bearer(token: str) -> str:
    return f"Bearer {token}"


# --- accepted tokens -----------------------------------------------------------------------


def test_good_rs256_token_is_accepted(rsa_pair: Pair, registry: dict[str, str]) -> None:
    result = check(registry, bearer(forge(rsa_pair)))
    assert result == RequestToken(CONSUMER_KEY, JTI, NOW + 900, NOW + 900 + 300)


def test_good_es256_token_is_accepted(ec_pair: Pair, registry: dict[str, str]) -> None:
    result = check(registry, bearer(forge(ec_pair, kid=EC_CONSUMER_KEY)))
    assert result == RequestToken(EC_CONSUMER_KEY, JTI, NOW + 900, NOW + 1200)


def test_x5t_s256_may_be_left_out(rsa_pair: Pair, registry: dict[str, str]) -> None:
    token = forge(rsa_pair, header={"x5t#S256": DROP})
    assert check(registry, bearer(token)).jti == JTI


def test_x5c_may_carry_the_chain_after_the_leaf(
    rsa_pair: Pair, other_rsa_pair: Pair, registry: dict[str, str]
) -> None:
    chain = [x5c_of(rsa_pair.certificate), x5c_of(other_rsa_pair.certificate)]
    assert check(registry, bearer(forge(rsa_pair, header={"x5c": chain}))).jti == JTI


@pytest.mark.parametrize(
    "authorization",
    ["bearer {}", "BEARER {}", "Bearer   {}", "  Bearer {} \t"],
    ids=["lowercase-scheme", "uppercase-scheme", "several-spaces", "surrounding-blanks"],
)
def test_scheme_ignores_case_and_blanks(
    rsa_pair: Pair, registry: dict[str, str], authorization: str
) -> None:
    assert check(registry, authorization.format(forge(rsa_pair))).consumer_key == CONSUMER_KEY


def test_typ_ignores_case(rsa_pair: Pair, registry: dict[str, str]) -> None:
    assert check(registry, bearer(forge(rsa_pair, header={"typ": "jwt"}))).jti == JTI


def test_cty_is_not_required(rsa_pair: Pair, registry: dict[str, str]) -> None:
    assert check(registry, bearer(forge(rsa_pair, header={"cty": DROP}))).jti == JTI


def test_fractional_numeric_dates_are_accepted(rsa_pair: Pair, registry: dict[str, str]) -> None:
    claims = {"iat": NOW + 0.25, "nbf": NOW + 0.25, "exp": NOW + 600.5}
    result = check(registry, bearer(forge(rsa_pair, claims=claims)))
    assert (result.exp, result.accepted_until) == (NOW + 601, NOW + 901)


# --- 400 INVALID_AUTH_HEADER ---------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "   \t"], ids=["absent", "empty", "blank"])
def test_missing_header_is_invalid(registry: dict[str, str], authorization: str | None) -> None:
    with pytest.raises(AuthHeaderInvalid, match="missing"):
        check(registry, authorization)


@pytest.mark.parametrize(
    "template",
    [
        "OAuth {}",
        "Basic {}",
        "Bearer",
        "Bearer ",
        "Bearer{}",
        "{}",
        "Bearer {} extra",
        "Bearer\t{}",
        'Bearer token="{}"',
    ],
    ids=[
        "oauth-scheme",
        "basic-scheme",
        "no-token",
        "blank-token",
        "no-space",
        "no-scheme",
        "trailing-word",
        "tab-separator",
        "quoted-token",
    ],
)
def test_not_bearer_and_a_token_is_invalid(
    rsa_pair: Pair, registry: dict[str, str], template: str
) -> None:
    with pytest.raises(AuthHeaderInvalid, match="not Bearer"):
        check(registry, template.format(forge(rsa_pair)))


@pytest.mark.parametrize(
    "token",
    [
        "abc.def",
        "abc.def.ghi.jkl",
        "abc..ghi",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln+",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln=",
    ],
    ids=["two-segments", "four-segments", "empty-payload", "base64-plus", "padding"],
)
def test_token_that_is_not_compact_jws_is_invalid(registry: dict[str, str], token: str) -> None:
    with pytest.raises(AuthHeaderInvalid, match="not Bearer"):
        check(registry, bearer(token))


@pytest.mark.parametrize(
    "token",
    [
        "abc.def.ghi",
        "a.e30.c2ln",
        f"{b64url(b'[1, 2]')}.e30.c2ln",
        f"{b64url(b'42')}.e30.c2ln",
        f"{b64url(b'{not json')}.e30.c2ln",
        f"{b64url(bytes([0xFF, 0xFE]))}.e30.c2ln",
    ],
    ids=["garbage", "bad-base64-length", "header-array", "header-number", "not-json", "not-utf8"],
)
def test_garbage_token_is_invalid(registry: dict[str, str], token: str) -> None:
    with pytest.raises(AuthHeaderInvalid):
        check(registry, bearer(token))


def test_overlong_header_is_invalid(registry: dict[str, str]) -> None:
    with pytest.raises(AuthHeaderInvalid, match="too long"):
        check(registry, bearer("a" * 20_000 + ".e30.c2ln"))


@pytest.mark.parametrize("signature", ["", "c2ln"], ids=["empty-signature", "some-signature"])
def test_alg_none_is_refused(rsa_pair: Pair, registry: dict[str, str], signature: str) -> None:
    token = unsigned(changed(header_for(rsa_pair), {"alg": "none"}), claims_at(), signature)
    with pytest.raises(AuthHeaderInvalid):
        check(registry, bearer(token))


def test_hs256_keyed_with_the_public_certificate_is_refused(
    rsa_pair: Pair, registry: dict[str, str]
) -> None:
    # The classic confusion: an HMAC "signed" with the public material the server holds.
    secret = JWK(kty="oct", k=base64url_encode(rsa_pair.certificate_pem.encode()))
    header = changed(header_for(rsa_pair), {"alg": "HS256"})
    token = JWS(json.dumps(claims_at()).encode())
    token.add_signature(secret, alg="HS256", protected=json.dumps(header))
    with pytest.raises(AuthHeaderInvalid, match="alg"):
        check(registry, bearer(token.serialize(compact=True)))


@pytest.mark.parametrize("alg", ["RS512", "PS256", "ES384", "rs256", DROP])
def test_other_algorithms_are_refused(rsa_pair: Pair, registry: dict[str, str], alg: Any) -> None:
    header = changed(header_for(rsa_pair), {"alg": alg})
    with pytest.raises(AuthHeaderInvalid, match="alg"):
        check(registry, bearer(unsigned(header, claims_at(), "c2ln")))


@pytest.mark.parametrize("typ", ["JWS", "at+jwt", "", 1, DROP])
def test_typ_other_than_jwt_is_invalid(rsa_pair: Pair, registry: dict[str, str], typ: Any) -> None:
    with pytest.raises(AuthHeaderInvalid, match="typ"):
        check(registry, bearer(forge(rsa_pair, header={"typ": typ})))


@pytest.mark.parametrize("kid", ["", 7, None, DROP])
def test_missing_kid_is_invalid(rsa_pair: Pair, registry: dict[str, str], kid: Any) -> None:
    with pytest.raises(AuthHeaderInvalid, match="kid"):
        check(registry, bearer(forge(rsa_pair, header={"kid": kid})))


@pytest.mark.parametrize(
    "extra",
    [{"crit": ["exp"]}, {"crit": ["kid"]}, {"b64": True}, {"b64": False, "crit": ["b64"]}],
    ids=["crit-unknown", "crit-known", "b64", "b64-critical"],
)
def test_crit_and_b64_are_invalid(
    rsa_pair: Pair, registry: dict[str, str], extra: dict[str, Any]
) -> None:
    # Request tokens use no JWS extension; an unknown critical one is jwcrypto's refusal.
    header = changed(header_for(rsa_pair), extra)
    with pytest.raises(AuthHeaderInvalid, match=r"crit|JSON object"):
        check(registry, bearer(unsigned(header, claims_at(), "c2ln")))


@pytest.mark.parametrize("claim", ["iat", "nbf", "exp"])
@pytest.mark.parametrize("value", [DROP, None, "1760000000", True, [NOW]])
def test_missing_or_mistyped_time_claim_is_invalid(
    rsa_pair: Pair, registry: dict[str, str], claim: str, value: Any
) -> None:
    with pytest.raises(AuthHeaderInvalid, match=claim):
        check(registry, bearer(forge(rsa_pair, claims={claim: value})))


@pytest.mark.parametrize(
    "jti",
    [DROP, None, "", 12345, "x" * 129, "a\nb"],
    ids=["absent", "null", "empty", "number", "too-long", "control-character"],
)
def test_missing_or_malformed_jti_is_invalid(
    rsa_pair: Pair, registry: dict[str, str], jti: Any
) -> None:
    with pytest.raises(AuthHeaderInvalid, match="jti"):
        check(registry, bearer(forge(rsa_pair, claims={"jti": jti})))


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json", b"\xff\xfe"])
def test_claims_that_are_not_a_json_object_are_invalid(
    rsa_pair: Pair, registry: dict[str, str], payload: bytes
) -> None:
    with pytest.raises(AuthHeaderInvalid, match="claims"):
        check(registry, bearer(forge(rsa_pair, claims=payload)))


# --- 401 DECLINED: the kid -----------------------------------------------------------------


def test_unknown_kid_is_declined(rsa_pair: Pair, registry: dict[str, str]) -> None:
    with pytest.raises(AuthDeclined, match="unknown consumer key"):
        check(registry, bearer(forge(rsa_pair, kid="NotARegisteredKey")))


def test_lookup_may_decline_itself(rsa_pair: Pair) -> None:
    def not_entitled(kid: str) -> str | None:
        raise AuthDeclined("project not entitled")

    with pytest.raises(AuthDeclined, match="not entitled"):
        verify_request_token(bearer(forge(rsa_pair)), certificate_for=not_entitled, now=NOW)


def test_lookup_is_asked_for_the_kid(rsa_pair: Pair) -> None:
    asked: list[str] = []

    def lookup(kid: str) -> str | None:
        asked.append(kid)
        return rsa_pair.certificate_pem

    verify_request_token(bearer(forge(rsa_pair)), certificate_for=lookup, now=NOW)
    assert asked == [CONSUMER_KEY]


# --- 403 AUTHENTICATION_FAILED -------------------------------------------------------------


def test_x5c_of_another_certificate_fails(
    rsa_pair: Pair, other_rsa_pair: Pair, registry: dict[str, str]
) -> None:
    # Signed by the other key and carrying its certificate: self-consistent, not registered.
    token = forge(other_rsa_pair)
    with pytest.raises(AuthenticationFailed, match="x5c leaf"):
        check(registry, bearer(token))


def test_registered_certificate_not_as_leaf_fails(
    rsa_pair: Pair, other_rsa_pair: Pair, registry: dict[str, str]
) -> None:
    chain = [x5c_of(other_rsa_pair.certificate), x5c_of(rsa_pair.certificate)]
    with pytest.raises(AuthenticationFailed, match="x5c leaf"):
        check(registry, bearer(forge(rsa_pair, header={"x5c": chain})))


@pytest.mark.parametrize(
    "x5c",
    [DROP, [], None, "MIIB", [None], ["not base64!"], [""]],
    ids=["absent", "empty", "null", "string", "null-leaf", "bad-base64", "empty-leaf"],
)
def test_x5c_without_the_registered_leaf_fails(
    rsa_pair: Pair, registry: dict[str, str], x5c: Any
) -> None:
    with pytest.raises(AuthenticationFailed, match="x5c"):
        check(registry, bearer(forge(rsa_pair, header={"x5c": x5c})))


def test_x5c_in_base64url_fails(rsa_pair: Pair, registry: dict[str, str]) -> None:
    # RFC 7515 §4.1.6: x5c entries are base64, not base64url.
    der = rsa_pair.certificate.public_bytes(serialization.Encoding.DER)
    leaf = base64.urlsafe_b64encode(der).decode()
    assert leaf != x5c_of(rsa_pair.certificate)
    with pytest.raises(AuthenticationFailed, match="x5c leaf"):
        check(registry, bearer(forge(rsa_pair, header={"x5c": [leaf]})))


def test_wrong_x5t_s256_fails(
    rsa_pair: Pair, other_rsa_pair: Pair, registry: dict[str, str]
) -> None:
    token = forge(rsa_pair, header={"x5t#S256": rfc7638(other_rsa_pair.certificate)})
    with pytest.raises(AuthenticationFailed, match="x5t#S256"):
        check(registry, bearer(token))


def test_x5t_s256_as_certificate_hash_fails(rsa_pair: Pair, registry: dict[str, str]) -> None:
    # D23 follows the reference client: the JWK thumbprint, not RFC 7515's certificate hash.
    certificate_hash = b64url(rsa_pair.certificate.fingerprint(hashes.SHA256()))
    with pytest.raises(AuthenticationFailed, match="x5t#S256"):
        check(registry, bearer(forge(rsa_pair, header={"x5t#S256": certificate_hash})))


@pytest.mark.parametrize("value", [None, 1, ["x"], "é"], ids=repr)
def test_x5t_s256_of_another_type_fails(
    rsa_pair: Pair, registry: dict[str, str], value: Any
) -> None:
    with pytest.raises(AuthenticationFailed, match="x5t#S256"):
        check(registry, bearer(forge(rsa_pair, header={"x5t#S256": value})))


def test_signature_by_another_key_fails(
    rsa_pair: Pair, other_rsa_pair: Pair, registry: dict[str, str]
) -> None:
    token = forge(rsa_pair, signer=other_rsa_pair)
    with pytest.raises(AuthenticationFailed, match="signature"):
        check(registry, bearer(token))


def test_altered_claims_fail(rsa_pair: Pair, registry: dict[str, str]) -> None:
    header, _, signature = forge(rsa_pair).split(".")
    later = b64url(json.dumps(claims_at(NOW + 3600)).encode())
    with pytest.raises(AuthenticationFailed, match="signature"):
        check(registry, bearer(f"{header}.{later}.{signature}"), now=NOW + 3600)


def test_altered_signature_fails(rsa_pair: Pair, registry: dict[str, str]) -> None:
    header, payload, signature = forge(rsa_pair).split(".")
    flipped = b64url(bytes([b ^ 1 for b in b64url_decode(signature)]))
    with pytest.raises(AuthenticationFailed, match="signature"):
        check(registry, bearer(f"{header}.{payload}.{flipped}"))


def test_es256_header_over_an_rsa_certificate_fails(
    rsa_pair: Pair, ec_pair: Pair, registry: dict[str, str]
) -> None:
    token = forge(rsa_pair, header={"alg": "ES256"}, signer=ec_pair)
    with pytest.raises(AuthenticationFailed, match="signature"):
        check(registry, bearer(token))


# --- 401 DECLINED: time window and lifetime ------------------------------------------------


def test_expired_token_is_declined(rsa_pair: Pair, registry: dict[str, str]) -> None:
    with pytest.raises(AuthDeclined, match="expired"):
        check(registry, bearer(forge(rsa_pair)), now=NOW + 3600)


def test_expiry_edge_is_exp_plus_tolerance(rsa_pair: Pair, registry: dict[str, str]) -> None:
    token = bearer(forge(rsa_pair))
    assert check(registry, token, now=NOW + 900 + 299).jti == JTI
    with pytest.raises(AuthDeclined, match="expired"):
        check(registry, token, now=NOW + 900 + 300)


def test_not_yet_valid_token_is_declined(rsa_pair: Pair, registry: dict[str, str]) -> None:
    token = forge(rsa_pair, claims={"nbf": NOW + 301})
    with pytest.raises(AuthDeclined, match="not yet valid"):
        check(registry, bearer(token))


def test_nbf_edge_is_nbf_minus_tolerance(rsa_pair: Pair, registry: dict[str, str]) -> None:
    assert check(registry, bearer(forge(rsa_pair, claims={"nbf": NOW + 300}))).jti == JTI
    token = bearer(forge(rsa_pair))
    assert check(registry, token, now=NOW - 300).jti == JTI
    with pytest.raises(AuthDeclined, match="not yet valid"):
        check(registry, token, now=NOW - 301)


def test_iat_in_the_future_beyond_tolerance_is_declined(
    rsa_pair: Pair, registry: dict[str, str]
) -> None:
    token = forge(rsa_pair, claims={"iat": NOW + 301, "exp": NOW + 900})
    with pytest.raises(AuthDeclined, match="not yet valid"):
        check(registry, bearer(token))


def test_lifetime_of_fifteen_minutes_is_the_limit(rsa_pair: Pair, registry: dict[str, str]) -> None:
    assert check(registry, bearer(forge(rsa_pair, claims={"exp": NOW + 900}))).exp == NOW + 900
    with pytest.raises(AuthDeclined, match="lifetime"):
        check(registry, bearer(forge(rsa_pair, claims={"exp": NOW + 901})))


@pytest.mark.parametrize("exp", [NOW, NOW - 1], ids=["exp-equals-iat", "exp-before-iat"])
def test_token_without_lifetime_is_declined(
    rsa_pair: Pair, registry: dict[str, str], exp: int
) -> None:
    with pytest.raises(AuthDeclined, match="lifetime"):
        check(registry, bearer(forge(rsa_pair, claims={"exp": exp})))


def test_tolerance_and_max_lifetime_are_parameters(
    rsa_pair: Pair, registry: dict[str, str]
) -> None:
    token = bearer(forge(rsa_pair, claims={"exp": NOW + 60}))
    assert check(registry, token, now=NOW + 59, tolerance=0, max_lifetime=60).jti == JTI
    with pytest.raises(AuthDeclined, match="expired"):
        check(registry, token, now=NOW + 60, tolerance=0, max_lifetime=60)
    with pytest.raises(AuthDeclined, match="lifetime"):
        check(registry, token, max_lifetime=59)


def test_unreadable_registered_certificate_is_a_config_error(rsa_pair: Pair) -> None:
    with pytest.raises(ConfigError):
        verify_request_token(
            bearer(forge(rsa_pair)), certificate_for=lambda kid: "not a PEM", now=NOW
        )


# --- make_request_token: the reference client's shape --------------------------------------


@pytest.fixture(params=["rsa", "ec"])
def any_pair(request: pytest.FixtureRequest, rsa_pair: Pair, ec_pair: Pair) -> Pair:
    return rsa_pair if request.param == "rsa" else ec_pair


def test_made_token_has_the_reference_clients_header(any_pair: Pair) -> None:
    token = make_request_token(any_pair.key_pem, any_pair.certificate_pem, CONSUMER_KEY, now=NOW)
    header, _ = decoded(token)
    assert header == {
        "alg": any_pair.alg,
        "typ": "JWT",
        "cty": "JWS",
        "kid": CONSUMER_KEY,
        "x5c": [x5c_of(any_pair.certificate)],
        "x5t#S256": rfc7638(any_pair.certificate),
    }


def test_made_token_has_the_reference_clients_claims(any_pair: Pair) -> None:
    token = make_request_token(any_pair.key_pem, any_pair.certificate_pem, CONSUMER_KEY, now=NOW)
    _, claims = decoded(token)
    assert set(claims) == {"iat", "nbf", "exp", "jti"}
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 900)
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])


def test_made_token_verifies(any_pair: Pair) -> None:
    token = make_request_token(any_pair.key_pem, any_pair.certificate_pem, CONSUMER_KEY, now=NOW)
    result = verify_request_token(
        bearer(token), certificate_for={CONSUMER_KEY: any_pair.certificate_pem}.get, now=NOW
    )
    assert result.consumer_key == CONSUMER_KEY
    assert result.exp == NOW + 900


def test_made_token_x5c_is_the_certificate(rsa_pair: Pair) -> None:
    token = make_request_token(rsa_pair.key_pem, rsa_pair.certificate_pem, CONSUMER_KEY, now=NOW)
    leaf = decoded(token)[0]["x5c"][0]
    assert x509.load_der_x509_certificate(base64.b64decode(leaf)) == rsa_pair.certificate


def test_made_tokens_get_fresh_jtis(rsa_pair: Pair) -> None:
    tokens = [
        make_request_token(rsa_pair.key_pem, rsa_pair.certificate_pem, CONSUMER_KEY, now=NOW)
        for _ in range(3)
    ]
    assert len({decoded(token)[1]["jti"] for token in tokens}) == 3


def test_jti_and_lifetime_can_be_given(rsa_pair: Pair) -> None:
    token = make_request_token(
        rsa_pair.key_pem.encode(),
        rsa_pair.certificate_pem.encode(),
        CONSUMER_KEY,
        now=NOW,
        lifetime=120,
        jti=JTI,
    )
    _, claims = decoded(token)
    assert (claims["exp"], claims["jti"]) == (NOW + 120, JTI)


@pytest.mark.parametrize("lifetime", [0, -1, 901])
def test_lifetime_outside_fifteen_minutes_is_refused(rsa_pair: Pair, lifetime: int) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        make_request_token(
            rsa_pair.key_pem, rsa_pair.certificate_pem, CONSUMER_KEY, now=NOW, lifetime=lifetime
        )


def test_empty_consumer_key_is_refused(rsa_pair: Pair) -> None:
    with pytest.raises(ValueError, match="consumer_key"):
        make_request_token(rsa_pair.key_pem, rsa_pair.certificate_pem, "", now=NOW)


def test_signing_algorithm_follows_the_key(rsa_pair: Pair, ec_pair: Pair) -> None:
    assert signing_algorithm(rsa_pair.key_pem, rsa_pair.certificate_pem) == "RS256"
    assert signing_algorithm(ec_pair.key_pem, ec_pair.certificate_pem) == "ES256"


def test_certificate_of_another_key_is_refused(rsa_pair: Pair, other_rsa_pair: Pair) -> None:
    with pytest.raises(ConfigError, match="does not certify"):
        make_request_token(rsa_pair.key_pem, other_rsa_pair.certificate_pem, CONSUMER_KEY, now=NOW)


def test_ec_key_off_p256_is_refused() -> None:
    pair = make_pair(ec.generate_private_key(ec.SECP384R1()), "ES384")
    with pytest.raises(ConfigError, match="P-256"):
        make_request_token(pair.key_pem, pair.certificate_pem, CONSUMER_KEY, now=NOW)


@pytest.mark.parametrize("which", ["key", "certificate", "key-is-a-certificate"])
def test_unreadable_key_material_is_refused(rsa_pair: Pair, which: str) -> None:
    key_pem, certificate_pem = rsa_pair.key_pem, rsa_pair.certificate_pem
    if which == "key":
        key_pem = "not a PEM"
    elif which == "certificate":
        certificate_pem = "not a PEM"
    else:
        key_pem = certificate_pem
    with pytest.raises(ConfigError):
        make_request_token(key_pem, certificate_pem, CONSUMER_KEY, now=NOW)


# --- RequestTokenAuth: the client side -----------------------------------------------------


def sent_authorizations(auth: RequestTokenAuth, count: int = 1) -> list[str]:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json={})

    with httpx.Client(auth=auth, transport=httpx.MockTransport(answer)) as http:
        for _ in range(count):
            http.post("https://sandbox.api.xbs.mastercard.uk/send/v1/x/cancel", content=b"{}")
    return seen


def test_auth_sends_a_bearer_token_the_verifier_accepts(any_pair: Pair) -> None:
    auth = RequestTokenAuth(
        CONSUMER_KEY, any_pair.key_pem, any_pair.certificate_pem, clock=lambda: NOW + 0.9
    )
    (authorization,) = sent_authorizations(auth)
    assert authorization.startswith("Bearer ")
    result = verify_request_token(
        authorization, certificate_for={CONSUMER_KEY: any_pair.certificate_pem}.get, now=NOW
    )
    assert (result.consumer_key, result.exp) == (CONSUMER_KEY, NOW + 900)
    assert decoded(authorization.removeprefix("Bearer "))[0]["alg"] == any_pair.alg
    assert auth.algorithm == any_pair.alg


def test_auth_makes_a_fresh_token_for_every_send(rsa_pair: Pair) -> None:
    times = iter([NOW, NOW + 5])
    auth = RequestTokenAuth(
        CONSUMER_KEY, rsa_pair.key_pem, rsa_pair.certificate_pem, clock=lambda: next(times)
    )
    first, second = (decoded(a.removeprefix("Bearer "))[1] for a in sent_authorizations(auth, 2))
    assert (first["iat"], second["iat"]) == (NOW, NOW + 5)
    assert first["jti"] != second["jti"]


def test_auth_lifetime_sets_exp(rsa_pair: Pair) -> None:
    auth = RequestTokenAuth(
        CONSUMER_KEY, rsa_pair.key_pem, rsa_pair.certificate_pem, lifetime=60, clock=lambda: NOW
    )
    (authorization,) = sent_authorizations(auth)
    assert decoded(authorization.removeprefix("Bearer "))[1]["exp"] == NOW + 60


def test_auth_refuses_unusable_keys_at_once(rsa_pair: Pair, other_rsa_pair: Pair) -> None:
    with pytest.raises(ConfigError):
        RequestTokenAuth(CONSUMER_KEY, rsa_pair.key_pem, other_rsa_pair.certificate_pem)


@pytest.mark.parametrize(
    ("consumer_key", "lifetime", "message"),
    [("", 900, "consumer_key"), (CONSUMER_KEY, 0, "lifetime"), (CONSUMER_KEY, 901, "lifetime")],
)
def test_auth_refuses_bad_arguments(
    rsa_pair: Pair, consumer_key: str, lifetime: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RequestTokenAuth(
            consumer_key, rsa_pair.key_pem, rsa_pair.certificate_pem, lifetime=lifetime
        )


def test_auth_repr_shows_no_key_material(rsa_pair: Pair) -> None:
    text = repr(RequestTokenAuth(CONSUMER_KEY, rsa_pair.key_pem, rsa_pair.certificate_pem))
    assert text == f"RequestTokenAuth(consumer_key={CONSUMER_KEY!r}, algorithm='RS256')"


def write_pkcs12(path: Path, pair: Pair, password: bytes, *, with_key: bool = True) -> Path:
    data = pkcs12.serialize_key_and_certificates(
        b"keyalias",
        pair.key if with_key else None,
        pair.certificate,
        None,
        serialization.BestAvailableEncryption(password),
    )
    path.write_bytes(data)
    return path


def test_auth_from_pkcs12(tmp_path: Path, any_pair: Pair) -> None:
    keystore = write_pkcs12(tmp_path / "project.p12", any_pair, b"keystorepassword")
    auth = RequestTokenAuth.from_pkcs12(CONSUMER_KEY, keystore, "keystorepassword")
    (authorization,) = sent_authorizations(auth)
    registered = {CONSUMER_KEY: any_pair.certificate_pem}
    now = int(time.time())
    assert verify_request_token(authorization, certificate_for=registered.get, now=now).jti


@pytest.mark.parametrize("case", ["wrong-password", "missing-file", "no-key"])
def test_auth_from_pkcs12_refuses_unusable_keystores(
    tmp_path: Path, rsa_pair: Pair, case: str
) -> None:
    keystore = write_pkcs12(tmp_path / "p.p12", rsa_pair, b"secret", with_key=case != "no-key")
    password = "wrong" if case == "wrong-password" else "secret"
    path = tmp_path / "absent.p12" if case == "missing-file" else keystore
    with pytest.raises(ConfigError):
        RequestTokenAuth.from_pkcs12(CONSUMER_KEY, path, password)
