"""The request journal (issue 14) with authentication on: an encrypted exchange is kept as
sent and decrypted, a refused signature is explained with what the server computed, and no
signature is stored."""

from __future__ import annotations

import json

from tests.e2e.security.conftest import Api
from tests.payloads import encode, payment_request
from tests.signing import our_encrypt
from xborder.services import journal
from xborder.services.journal_ports import JournalEntry, JournalFilter


def entries(api: Api) -> list[JournalEntry]:
    app = api.http.app
    app.state.recorder.flush()  # type: ignore[attr-defined]
    uow_factory = app.state.services.uow_factory  # type: ignore[attr-defined]
    return journal.list_requests(JournalFilter(), limit=50, before=None, uow_factory=uow_factory)


def test_an_encrypted_exchange_is_kept_as_sent_and_in_plaintext(api: Api) -> None:
    plaintext, headers = encode({"paymentrequest": payment_request("JOURNAL-ENC")}, "json")
    body = our_encrypt(plaintext, api.keys.server.cert, "json")
    answer = api.call("POST", "/payment", body, headers={**headers, "x-encrypted": "true"})
    assert answer.status_code == 200, answer.text
    (entry,) = entries(api)
    assert entry.encrypted and entry.status == 200 and entry.consumer_key
    assert "JOURNAL-ENC" in (entry.request_plain or "") and "JOURNAL-ENC" not in entry.request_body
    assert "encrypted_payload" in entry.request_body
    assert entry.payment_id and entry.payment_id in (entry.response_plain or "")
    assert "JOURNAL-ENC" not in entry.response_body
    assert 'oauth_signature="[redacted]"' in json.loads(entry.request_headers)["authorization"]


def test_a_refused_signature_is_explained(api: Api) -> None:
    content, headers = encode({"paymentrequest": payment_request("JOURNAL-BAD")}, "json")
    answer = api.call("POST", "/payment", content, headers=headers, key=api.keys.stranger)
    assert answer.status_code == 403
    (entry,) = entries(api)
    assert entry.reason_code == "AUTHENTICATION_FAILED"
    explanation = json.loads(entry.explanation or "{}")
    assert explanation["reason"] == "signature does not verify"
    assert explanation["signatureBaseString"].startswith("POST&http%3A%2F%2Ftestserver%2Fsend")
    assert "oauth_body_hash" in explanation["signatureBaseString"]
    assert explanation["expectedBodyHash"]
    signature = answer.request.headers["authorization"].split('oauth_signature="')[1].split('"')[0]
    assert signature not in entry.request_headers
