"""Journal entries (issue 14): built from what the endpoint saw, with secrets redacted."""

from __future__ import annotations

import json

from xborder.api.exchange import Trace
from xborder.api.gate import Admitted, Caller
from xborder.api.journal import MAX_BODY_CHARS, EntryBuilder, redact
from xborder.api.routes import Route
from xborder.security.errors import AuthenticationFailed
from xborder.services.journal_ports import JournalEntry, entry_of

HEADER = 'OAuth oauth_consumer_key="ck-1",oauth_signature="abc%2Bdef%3D"'


def trace(**fields: object) -> Trace:
    t = Trace(100.0)
    scope = {"method": "POST", "path": "/send/v1/partners/P1/crossborder/payment"}
    t.finish({**scope, "query_string": b"x=1"}, "42", {}, b"{}")
    t.finished = 100.0125
    t.route = Route("create", "P1", "", "paymentrequest")
    t.status, t.content = 200, b'{"ok": true}'
    for name, value in fields.items():
        setattr(t, name, value)
    return t


def built(builder: EntryBuilder, t: Trace) -> JournalEntry:
    """The entry the builder's record stands for, as the journal's pages read it."""
    return entry_of(builder(t))


def failed(exc: BaseException, **fields: object) -> Trace:
    t = trace(**fields)
    t.fail(exc)
    return t


def test_redact_hides_signatures_bearer_tokens_keys_and_named_secrets() -> None:
    text = (
        f"{HEADER} Bearer abc.def-ghi admin-tok "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"
    )
    redacted = redact(text, ["admin-tok"])
    for secret in ("abc%2Bdef%3D", "abc.def-ghi", "admin-tok", "MIIE"):
        assert secret not in redacted
    assert 'oauth_consumer_key="ck-1"' in redacted and "Bearer [redacted]" in redacted


def test_a_signature_refusal_is_explained_in_words_and_base_string() -> None:
    refusal = AuthenticationFailed(
        "signature does not verify", base_string="POST&http%3A%2F%2Fh&a", expected_body_hash="h="
    )
    entry = built(
        EntryBuilder(),
        failed(refusal, status=403, headers={"authorization": HEADER, "cookie": "s=1"}),
    )
    assert entry.reason_code == "AUTHENTICATION_FAILED" and entry.consumer_key == "ck-1"
    assert json.loads(entry.explanation or "") == {
        "reason": "signature does not verify",
        "reasonCode": "AUTHENTICATION_FAILED",
        "signatureBaseString": "POST&http%3A%2F%2Fh&a",
        "expectedBodyHash": "h=",
    }
    headers = json.loads(entry.request_headers)
    assert headers["cookie"] == "[redacted]" and "abc%2Bdef" not in headers["authorization"]
    assert entry.path == "/send/v1/partners/P1/crossborder/payment?x=1"
    assert entry.latency_us == 12500 and entry.operation == "create" and entry.partner_id == "P1"


def test_only_the_head_of_a_large_body_waits_in_the_ring() -> None:
    t = trace()
    t.admitted = Admitted(Caller("ck", encrypted=True), b"p" * (MAX_BODY_CHARS * 4), None)
    t.finish({"method": "POST", "path": "/x"}, "1", {}, b"b" * (MAX_BODY_CHARS * 4))
    assert len(t.body) == MAX_BODY_CHARS and t.body_size == MAX_BODY_CHARS * 4
    assert t.admitted is not None and len(t.admitted.body) == MAX_BODY_CHARS
    entry = built(EntryBuilder(), t)
    assert entry.request_body.endswith(f"[... {MAX_BODY_CHARS * 3} more]")


def test_encrypted_exchanges_keep_both_bodies_and_long_bodies_are_cut() -> None:
    admitted = Admitted(Caller("ck-2", encrypted=True), b'{"plain": 1}', "application/json")
    entry = built(
        EntryBuilder(),
        trace(
            admitted=admitted,
            body=b'{"encrypted_payload": {"data": "eyJ"}}',
            plain=b'{"payment": {"id": "rem_1"}}',
            answered_id="rem_1",
            content=b"x" * (MAX_BODY_CHARS + 5),
        ),
    )
    assert entry.encrypted and entry.request_plain == '{"plain": 1}'
    assert entry.request_body.startswith('{"encrypted_payload"')
    assert entry.response_plain == '{"payment": {"id": "rem_1"}}' and entry.payment_id == "rem_1"
    assert entry.response_body.endswith("[... 5 more]")
    assert entry.explanation is None and entry.reason_code is None


def test_a_cut_never_leaves_part_of_a_secret() -> None:
    key = "-----BEGIN PRIVATE KEY-----\n" + "K" * (MAX_BODY_CHARS * 2)
    body = ("x" * (MAX_BODY_CHARS - 10) + "admin-secret-token").encode()
    builder = EntryBuilder(secrets=["admin-secret-token"])
    cut_key = built(builder, trace(content=key.encode()))
    assert "KKKK" not in cut_key.response_body
    t = trace()
    t.finish({"method": "POST", "path": "/x"}, "1", {}, body)
    entry = built(builder, t)
    assert "admin-sec" not in entry.request_body and entry.request_body.endswith(" more]")
    half_header = redact('OAuth oauth_signature="abcdef')
    assert "abcdef" not in half_header


def test_a_request_with_nothing_to_hide_is_kept_as_it_was_sent() -> None:
    headers = {"content-type": "application/json", "x-b": "2", "accept": "*/*"}
    entry = built(
        EntryBuilder(secrets=["admin-secret-token"]),
        trace(headers=headers, body=b'{"a": "\xc3\xbc"}', content=b'{"ok": true}'),
    )
    assert json.loads(entry.request_headers) == headers
    assert list(json.loads(entry.request_headers)) == sorted(headers)  # shown by name
    assert entry.request_body == '{"a": "ü"}' and entry.response_body == '{"ok": true}'


def test_a_secret_in_any_one_text_sends_every_text_the_long_way() -> None:
    """One pass tells whether anything may need hiding; then each text is redacted alone."""
    t = trace(
        headers={"accept": "*/*"},
        body=b'{"note": "Bearer abc.def"}',
        content=b'{"ok": true}',
    )
    entry = built(EntryBuilder(), t)
    assert "abc.def" not in entry.request_body and "Bearer [redacted]" in entry.request_body
    assert entry.response_body == '{"ok": true}' and json.loads(entry.request_headers) == {
        "accept": "*/*"
    }
