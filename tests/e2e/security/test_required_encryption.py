"""D20 through the in-process app: a project whose encryption policy is ``required``.

Requests are signed by Mastercard's signer and encrypted by Mastercard's client-encryption
library, which also decrypts every answer. The policy is switched by ``xborder projects
update`` run against the running app's database, as an operator would from another process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from httpx2 import Response  # what starlette.testclient answers with
from sqlalchemy.engine import Engine

from tests.e2e.security.conftest import PLAIN_KEY, SANDBOX_KEY, Api, Keys
from tests.payloads import encode, payment_request
from tests.signing import mastercard_decrypt, mastercard_encrypt, mastercard_jwe
from xborder.cli import main
from xborder.domain.projects import EncryptionPolicy
from xborder.services import errors as service_errors
from xborder.services import projects
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

MEDIA_JSON = "application/json"
ENCRYPTED = {"Content-Type": MEDIA_JSON, "x-encrypted": "true"}
MUST_BE_ENCRYPTED = {
    "Errors": {
        "Error": {
            "RequestId": None,
            "Source": "Encrypted Payload",
            "ReasonCode": "INVALID_INPUT_FORMAT",
            "Description": "Request payload must be encrypted",
            "Recoverable": "false",
            "Details": {"Detail": {"Name": "ErrorDetailCode", "Value": "062000"}},
        }
    }
}


@pytest.fixture(scope="module")
def oracle(keys: Keys) -> Any:
    return mastercard_jwe(keys.server.cert_path, keys.client.key_path)


def set_policy(engine: Engine, tmp_path: Path, policy: str, key: str = SANDBOX_KEY) -> None:
    """``xborder projects update`` against the running app's database."""
    url = engine.url.render_as_string(hide_password=False)
    args = ["projects", "update", key, "--encryption", policy]
    args += ["--database-url", url, "--data-dir", str(tmp_path / "cli-data")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"encryption:        {policy}" in result.output


@pytest.fixture
def required(api: Api, engine: Engine, tmp_path: Path) -> Api:
    """``SANDBOX_KEY`` (which has a client-encryption certificate) switched to ``required``
    while the app runs; its cache has seen the project before the switch."""
    assert api.call("GET", "?ref=WARM-UP").status_code == 404
    set_policy(engine, tmp_path, "required")
    return api


def plain(reference: str, fmt: str = "json") -> tuple[bytes, dict[str, str]]:
    return encode({"paymentrequest": payment_request(reference)}, fmt)


def create_plain(api: Api, reference: str, fmt: str = "json", **kwargs: Any) -> Response:
    body, headers = plain(reference, fmt)
    return api.call("POST", "/payment", body, headers={**headers, "Accept": MEDIA_JSON}, **kwargs)


def create_encrypted(api: Api, oracle: Any, reference: str) -> Response:
    body = mastercard_encrypt({"paymentrequest": payment_request(reference)}, oracle)
    return api.call("POST", "/payment", body, headers=ENCRYPTED)


def opened(response: Response, oracle: Any) -> dict[str, Any]:
    """A success answer, decrypted by Mastercard's library."""
    assert response.status_code == 200, response.text
    assert response.headers["x-encrypted"] == "true"
    return mastercard_decrypt(response.content, oracle)


def assert_must_be_encrypted(response: Response) -> None:
    assert response.status_code == 400, response.text
    assert "x-encrypted" not in response.headers
    assert response.json() == MUST_BE_ENCRYPTED


def status_of(api: Api, oracle: Any, reference: str) -> str:
    status: str = opened(api.call("GET", f"?ref={reference}"), oracle)["payment"]["status"]
    return status


# --- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_plaintext_create_is_refused_and_nothing_is_created(required: Api, fmt: str) -> None:
    assert_must_be_encrypted(create_plain(required, "REQ-PLAIN", fmt))
    missing = required.call("GET", "?ref=REQ-PLAIN")
    assert missing.status_code == 404 and "x-encrypted" not in missing.headers


def test_plaintext_cancel_is_refused_and_the_payment_is_unchanged(
    required: Api, oracle: Any
) -> None:
    assert opened(create_encrypted(required, oracle, "REQ-KEEP"), oracle)
    body = json.dumps({"cancelpaymentrequest": ""}).encode()
    headers = {"Content-Type": "application/json"}
    for method in ("POST", "GET"):
        response = required.call(method, "/REQ-KEEP/cancel", body, headers=headers)
        assert_must_be_encrypted(response)
    assert status_of(required, oracle, "REQ-KEEP") == "PENDING"


def test_refusal_comes_after_authentication(required: Api) -> None:
    assert create_plain(required, "REQ-STRANGER", key=required.keys.stranger).status_code == 403


# --- served, always encrypted ----------------------------------------------------------------


def test_encrypted_create_is_answered_encrypted(required: Api, oracle: Any) -> None:
    payment = opened(create_encrypted(required, oracle, "REQ-ENC"), oracle)["payment"]
    assert payment["transaction_reference"] == "REQ-ENC" and payment["status"] == "PENDING"


def test_retrieve_without_x_encrypted_is_answered_encrypted(required: Api, oracle: Any) -> None:
    payment = opened(create_encrypted(required, oracle, "REQ-GET"), oracle)["payment"]
    for suffix in (f"/{payment['id']}", "?ref=REQ-GET"):
        assert opened(required.call("GET", suffix), oracle)["payment"]["id"] == payment["id"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_body_less_cancel_is_served_and_answered_encrypted(
    required: Api, oracle: Any, method: str
) -> None:
    assert opened(create_encrypted(required, oracle, f"REQ-CXL-{method}"), oracle)
    answer = required.call(method, f"/REQ-CXL-{method}/cancel")
    assert opened(answer, oracle) == {"cancelpayment": {"status": "SUCCESS"}}
    assert status_of(required, oracle, f"REQ-CXL-{method}") == "CANCELLED"


def test_encrypted_cancel_is_answered_encrypted(required: Api, oracle: Any) -> None:
    assert opened(create_encrypted(required, oracle, "REQ-CXL-ENC"), oracle)
    body = mastercard_encrypt({"cancelpaymentrequest": ""}, oracle)
    answer = required.call("POST", "/REQ-CXL-ENC/cancel", body, headers=ENCRYPTED)
    assert opened(answer, oracle) == {"cancelpayment": {"status": "SUCCESS"}}


def test_errors_of_a_required_project_stay_plaintext(required: Api) -> None:
    response = required.call("GET", "/REQ-NONE/cancel")
    assert response.status_code == 404 and "x-encrypted" not in response.headers
    assert response.json()["Errors"]["Error"]["ReasonCode"] == "RESOURCE_UNKNOWN"


# --- optional stays as it was ----------------------------------------------------------------


def test_optional_projects_are_unchanged(required: Api, oracle: Any) -> None:
    """Another project on the same app: plaintext in, plaintext out."""
    answer = create_plain(required, "OPT-PLAIN", consumer_key=PLAIN_KEY)
    assert answer.status_code == 200 and "x-encrypted" not in answer.headers
    assert answer.json()["payment"]["status"] == "PENDING"
    retrieved = required.call("GET", "?ref=OPT-PLAIN", consumer_key=PLAIN_KEY)
    assert retrieved.status_code == 200 and "x-encrypted" not in retrieved.headers


# --- the switch reaches a running app on its next request ------------------------------------


def test_switching_the_policy_takes_effect_on_the_next_request(
    api: Api, engine: Engine, tmp_path: Path, oracle: Any
) -> None:
    first = create_plain(api, "SW-1")
    assert first.status_code == 200 and "x-encrypted" not in first.headers
    set_policy(engine, tmp_path, "required")
    assert_must_be_encrypted(create_plain(api, "SW-2"))
    assert status_of(api, oracle, "SW-1") == "PENDING"  # a body-less read: sealed now
    set_policy(engine, tmp_path, "optional")
    relaxed = create_plain(api, "SW-2")
    assert relaxed.status_code == 200 and "x-encrypted" not in relaxed.headers
    retrieved = api.call("GET", "?ref=SW-1")
    assert retrieved.status_code == 200 and "x-encrypted" not in retrieved.headers


def test_relaxing_right_after_a_refusal_is_seen_at_once(
    required: Api, engine: Engine, tmp_path: Path
) -> None:
    """The refusal rests on the cached policy; the next request must not."""
    assert_must_be_encrypted(create_plain(required, "RLX-1"))
    set_policy(engine, tmp_path, "optional")
    response = create_plain(required, "RLX-1")
    assert response.status_code == 200 and "x-encrypted" not in response.headers


def test_required_is_refused_for_a_project_without_an_encryption_certificate(
    engine: Engine, registered: None
) -> None:
    with pytest.raises(service_errors.InvalidProject, match="client-encryption certificate"):
        projects.update_project(
            PLAIN_KEY,
            encryption=EncryptionPolicy.REQUIRED,
            uow_factory=SqlAlchemyUowFactory(engine),
        )
