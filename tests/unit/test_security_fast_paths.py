"""The quick paths of oauth1 and jwe against what they replace, so that they stay equal.

oauth1 percent-encodes the signature base string without ``urllib.parse.quote`` (a stand-in
kept because bench/standins.py shows it matters, issue 16: docs/performance.md); jwe copies
template jwcrypto tokens instead of building each with ``JWE()``. Each is compared here with
the library code it replaced, kept below as the reference.
"""

from __future__ import annotations

import json
import string
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509 import Certificate
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jwcrypto.common import JWException
from jwcrypto.jwe import JWE, JWEHeaderRegistry
from jwcrypto.jwk import JWK

from xborder.security import PayloadDecryptionError, fingerprint, generate_key_pair_and_certificate
from xborder.security import jwe as jwe_module
from xborder.security.jwe import decrypt, encrypt
from xborder.security.oauth1 import _percent_encode

ESCAPE_PIECES = ["%", "%2B", "%2F", "%3D", "%2b", "%2f", "%3d", "%25", "%C3%A9", "%E9", "%zz"]
PIECES = [*ESCAPE_PIECES, "2", "B", "F", "3", "D", "a", "+", "/", "=", " ", "é", "€", "😀", "~"]


# --- percent-encoding ------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.text() | st.lists(st.sampled_from(PIECES)).map("".join))
@example("")
@example("".join(map(chr, range(256))))
@example("%%25%2B")
def test_percent_encode_equals_quote(text: str) -> None:
    assert _percent_encode(text) == quote(text, safe="-._~")


def test_percent_encode_keeps_exactly_the_unreserved_characters() -> None:
    unreserved = string.ascii_letters + string.digits + "-._~"
    for code in range(128):
        expected = chr(code) if chr(code) in unreserved else f"%{code:02X}"
        assert _percent_encode(chr(code)) == expected


def test_percent_encode_refuses_lone_surrogates_as_quote_does() -> None:
    with pytest.raises(UnicodeEncodeError):
        quote("a\ud800", safe="-._~")
    with pytest.raises(UnicodeEncodeError):
        _percent_encode("a\ud800")


# --- JWE ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recipient() -> tuple[RSAPrivateKey, Certificate]:
    return generate_key_pair_and_certificate("fast paths", 30)


def reference_encrypt(plaintext: bytes, cert: Certificate, *, kid: str | None, cty: str) -> str:
    """jwe.encrypt before the template tokens."""
    header: dict[str, str] = {"alg": "RSA-OAEP-256", "enc": "A256GCM"}
    if kid is not None:
        header["kid"] = kid
    header["cty"] = cty
    token = JWE(plaintext, protected=json.dumps(header, separators=(",", ":")))
    token.add_recipient(JWK.from_pyca(cert.public_key()))
    return str(token.serialize(compact=True))


def reference_decrypt(compact: str, key: RSAPrivateKey) -> bytes | None:
    """jwe.decrypt before the template tokens, for one key (None: refused)."""
    try:
        jwe_module._protected_header(compact)
    except PayloadDecryptionError:
        return None
    token = JWE()
    token.allowed_algs = ["RSA-OAEP-256", "A128GCM", "A192GCM", "A256GCM"]
    try:
        token.deserialize(compact, key=JWK.from_pyca(key))
        return bytes(token.payload)
    except (JWException, ValueError, TypeError):
        return None


def fast_decrypt(compact: str, key: RSAPrivateKey, kid: str) -> bytes | None:
    try:
        return decrypt(compact, {kid: key})[0]
    except PayloadDecryptionError:
        return None


def blank_state(token: JWE) -> dict[str, Any]:
    state = dict(vars(token))
    registry = state.pop("header_registry")
    assert dict(registry) == JWEHeaderRegistry
    return state


def test_template_tokens_are_fresh_tokens_with_one_shared_registry(
    recipient: tuple[RSAPrivateKey, Certificate],
) -> None:
    fresh = JWE()
    fresh.allowed_algs = ["RSA-OAEP-256", "A128GCM", "A192GCM", "A256GCM"]
    copied = jwe_module._copied(jwe_module._DECRYPTING)
    assert blank_state(copied) == blank_state(fresh)
    key, cert = recipient
    decrypt(encrypt(b"{}", cert, kid=None, cty="application/json"), {"k": key})
    assert blank_state(jwe_module._DECRYPTING) == blank_state(fresh)  # untouched by use
    template = jwe_module._encrypting("A256GCM", None, "application/json")
    assert blank_state(template) == blank_state(JWE(protected=template.objects["protected"]))


@pytest.mark.parametrize("plaintext", [b'{"a":"\xc3\xa9"}', b"<a/>", b""])
@pytest.mark.parametrize("kid", [None, "kid-1"])
def test_encrypt_writes_what_it_wrote_before(
    recipient: tuple[RSAPrivateKey, Certificate], plaintext: bytes, kid: str | None
) -> None:
    key, cert = recipient
    ours = encrypt(plaintext, cert, kid=kid, cty="application/json")
    before = reference_encrypt(plaintext, cert, kid=kid, cty="application/json")
    assert ours.split(".")[0] == before.split(".")[0]  # the same protected header
    assert [len(s) for s in ours.split(".")] == [len(s) for s in before.split(".")]
    assert reference_decrypt(ours, key) == reference_decrypt(before, key)


def test_encrypt_takes_text_and_refuses_none_as_jwcrypto_did(
    recipient: tuple[RSAPrivateKey, Certificate],
) -> None:
    key, cert = recipient
    text: Any = "é"
    assert reference_decrypt(encrypt(text, cert, kid=None, cty="t/t"), key) == "é".encode()
    with pytest.raises(ValueError, match="Missing plaintext"):
        encrypt(None, cert, kid=None, cty="t/t")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), char=st.sampled_from("AQgw_-.=é0"))
def test_decrypt_accepts_and_refuses_what_it_did_before(
    recipient: tuple[RSAPrivateKey, Certificate], position: int, char: str
) -> None:
    key, cert = recipient
    kid = fingerprint(cert)
    compact = reference_encrypt(b'{"cancel":true}', cert, kid=kid, cty="application/json")
    position %= len(compact)
    altered = compact[:position] + char + compact[position + 1 :]
    assert fast_decrypt(altered, key, kid) == reference_decrypt(altered, key)


def test_tokens_in_threads_do_not_share_state(
    recipient: tuple[RSAPrivateKey, Certificate],
) -> None:
    key, cert = recipient
    bodies = [f'{{"n":{n}}}'.encode() for n in range(40)]

    def roundtrip(body: bytes) -> bytes:
        return decrypt(encrypt(body, cert, kid=None, cty="application/json"), {"k": key})[0]

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(roundtrip, bodies)) == bodies
