"""D11, D12 and D13 over real HTTP: ``xborder serve`` in a subprocess, driven by the libraries a
partner uses against Mastercard, mastercard-oauth1-signer and mastercard-client-encryption.

The server is started on a fresh data directory, so its first run creates the sandbox dev
project whose keys (``data/dev``) the tests sign and decrypt with, as a developer would.
JSON requests are encrypted by Mastercard's library; XML requests by xborder's own JWE (the
library cannot encrypt XML). JSON responses are decrypted by both.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from client_encryption.jwe_encryption_config import JweEncryptionConfig
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from oauth1 import coreutils
from oauth1.oauth import OAuth, SignatureMethod

from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail_without_postgres,
)
from tests.e2e.server import ServerProcess, running_server
from tests.payloads import PARTNER, decode, encode, path, payment_request
from tests.signing import (
    MEDIA,
    Party,
    make_party,
    mastercard_decrypt,
    mastercard_encrypt,
    mastercard_header,
    mastercard_jwe,
    our_decrypt,
    our_encrypt,
    unwrap,
    wrap,
)
from xborder.cli import main
from xborder.security import jwe
from xborder.security.keys import load_certificate, load_private_key

MTF_KEY = "mtf-over-http!0a1b2c3d"
MTF_PARTNER = "MTF_HTTP_PARTNER1"
CANCEL_SUCCESS = {"cancelpayment": {"status": "SUCCESS"}}


@dataclass
class Client:
    """A partner's client: the dev project's keys, Mastercard's libraries, an httpx client."""

    server: ServerProcess
    data: Path
    consumer_key: str
    signing_key: RSAPrivateKey
    decryption: Party  # the client key responses are encrypted to
    server_cert: Path  # what `xborder keys export-encryption-cert` printed
    oracle: JweEncryptionConfig
    http: httpx.Client
    public_url: str | None = None

    def url(self, suffix: str, partner: str = PARTNER) -> str:
        return (self.public_url or self.server.base_url) + path(suffix, partner=partner)

    def send(
        self,
        method: str,
        suffix: str,
        body: bytes = b"",
        *,
        fmt: str = "json",
        encrypted: bool = True,
        partner: str = PARTNER,
        consumer_key: str | None = None,
        key: RSAPrivateKey | None = None,
        authorization: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Sign exactly what is sent with Mastercard's signer (unless ``authorization``)."""
        url = self.url(suffix, partner)
        if authorization is None:
            authorization = mastercard_header(
                url, method, body, consumer_key or self.consumer_key, key or self.signing_key
            )
        headers = {"Authorization": authorization, "Accept": MEDIA[fmt], **(extra or {})}
        if body:
            headers["Content-Type"] = MEDIA[fmt]
        if encrypted:
            headers["x-encrypted"] = "true"
        target = self.server.base_url + path(suffix, partner=partner)
        return self.http.request(method, target, content=body or None, headers=headers)

    def encrypted_create(self, reference: str, fmt: str, **fields: Any) -> bytes:
        document = {"paymentrequest": payment_request(reference, **fields)}
        if fmt == "json":
            return mastercard_encrypt(document, self.oracle)
        plaintext, _ = encode(document, "xml")
        return our_encrypt(plaintext, load_certificate(self.server_cert), "xml")

    def opened(self, response: httpx.Response, fmt: str) -> dict[str, Any]:
        """The decrypted answer: by both libraries for JSON, by ours for XML."""
        assert response.status_code == 200, response.text
        assert response.headers["x-encrypted"] == "true"
        plaintext, header = our_decrypt(response.content, fmt, self.decryption)
        assert header["kid"] == self.decryption.kid
        document = decode(plaintext, fmt)
        if fmt == "json":
            assert mastercard_decrypt(response.content, self.oracle) == document
        return document


def cli(data: Path, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--data-dir", str(data)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def client_for(server: ServerProcess, workdir: Path, public_url: str | None = None) -> Client:
    """A client with the dev project's keys; the caller closes ``client.http``."""
    data = workdir / "data"
    dev = data / "dev"
    server_cert = workdir / "xborder-encryption.pem"
    server_cert.write_text(cli(data, "keys", "export-encryption-cert"))
    decryption = Party(
        load_private_key((dev / "encryption-key.pem").read_bytes()),
        load_certificate(dev / "encryption-cert.pem"),
        dev / "encryption-key.pem",
        dev / "encryption-cert.pem",
    )
    return Client(
        server=server,
        data=data,
        consumer_key=(dev / "consumer-key.txt").read_text().strip(),
        signing_key=load_private_key((dev / "signing-key.pem").read_bytes()),
        decryption=decryption,
        server_cert=server_cert,
        oracle=mastercard_jwe(server_cert, dev / "encryption-key.pem"),
        http=httpx.Client(timeout=15.0, trust_env=False),
        public_url=public_url,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signed-http")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    with running_server(workdir) as running:
        yield running


@pytest.fixture(scope="module")
def mtf_signer(server: ServerProcess, workdir: Path) -> Party:
    """An mtf project with a bound partner, registered by the CLI while the server runs."""
    signer = make_party(workdir / "mtf", "mtf-signer")
    data = workdir / "data"
    cli(
        data,
        "projects",
        "add",
        "--consumer-key",
        MTF_KEY,
        "--signing-cert",
        str(signer.cert_path),
        "--environment",
        "mtf",
    )
    cli(data, "partners", "add", "--partner-id", MTF_PARTNER, "--project", MTF_KEY)
    return signer


@pytest.fixture(scope="module")
def client(server: ServerProcess, workdir: Path) -> Iterator[Client]:
    partner_client = client_for(server, workdir)
    with partner_client.http:
        yield partner_client


# --- first run -------------------------------------------------------------------------------


def test_first_run_prints_a_snippet_that_signs(server: ServerProcess, client: Client) -> None:
    announced = server.log_path.with_suffix(".out").read_text()
    assert "first run" in announced and client.consumer_key in announced
    assert "OAuth.get_authorization_header" in announced
    script = client.data / "dev" / "sign_request.py"
    script.write_text(script.read_text().replace(":8080", f":{server.port}"))  # a free port here
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("404 ") and '"Source":"GetPayment"' in run.stdout


def readme_snippet() -> str:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    section = readme.split("## Keys, signing and encryption", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_example_runs_as_documented(
    server: ServerProcess, client: Client, workdir: Path
) -> None:
    (client.data / "dev" / "xborder-encryption.pem").write_text(
        cli(client.data, "keys", "export-encryption-cert")
    )
    script = workdir / "readme_example.py"
    script.write_text(readme_snippet())
    env = {**os.environ, "XBORDER_URL": server.base_url}
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    created, retrieved, cancelled, final = run.stdout.splitlines()
    assert re.fullmatch(r"rem_\S{27} PENDING", created)
    assert (retrieved, final) == ("PENDING", "CANCELLED")
    assert cancelled == "{'cancelpayment': {'status': 'SUCCESS'}}"


# --- accepted: the whole flow with Mastercard's libraries --------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_create_retrieve_cancel_encrypted(client: Client, fmt: str) -> None:
    payments = []
    for reference in (f"WIRE-{fmt}-1", f"WIRE-{fmt}-2"):
        created = client.send("POST", "/payment", client.encrypted_create(reference, fmt), fmt=fmt)
        payments.append(client.opened(created, fmt)["payment"])
        assert payments[-1]["status"] == "PENDING"
    first, second = payments
    by_id = client.opened(client.send("GET", f"/{first['id']}", fmt=fmt), fmt)
    assert (by_id["payment"]["id"], by_id["payment"]["status"]) == (first["id"], "PENDING")
    by_ref = client.opened(
        client.send("GET", f"?ref={second['transaction_reference']}", fmt=fmt), fmt
    )
    assert by_ref["payment"]["id"] == second["id"]

    cancel_body, _ = encode({"cancelpaymentrequest": ""}, fmt)
    if fmt == "json":
        cancel_body = mastercard_encrypt({"cancelpaymentrequest": ""}, client.oracle)
    else:
        cancel_body = our_encrypt(cancel_body, load_certificate(client.server_cert), "xml")
    by_post = client.send("POST", f"/{first['id']}/cancel", cancel_body, fmt=fmt)
    assert client.opened(by_post, fmt) == CANCEL_SUCCESS
    by_get = client.send("GET", f"/{second['transaction_reference']}/cancel", fmt=fmt)
    assert client.opened(by_get, fmt) == CANCEL_SUCCESS
    for payment in payments:
        retrieved = client.opened(client.send("GET", f"/{payment['id']}", fmt=fmt), fmt)
        assert retrieved["payment"]["status"] == "CANCELLED"


def test_plaintext_requests_of_a_signed_client_are_answered_in_plaintext(client: Client) -> None:
    body, _ = encode({"paymentrequest": payment_request("WIRE-PLAIN")}, "json")
    response = client.send("POST", "/payment", body, encrypted=False)
    assert response.status_code == 200 and "x-encrypted" not in response.headers
    assert response.json()["payment"]["status"] == "PENDING"


def test_mtf_key_reaches_its_partner(client: Client, mtf_signer: Party) -> None:
    response = client.send(
        "GET",
        "?ref=NONE",
        partner=MTF_PARTNER,
        consumer_key=MTF_KEY,
        key=mtf_signer.key,
        encrypted=False,
    )
    assert (
        response.status_code == 404 and response.json()["Errors"]["Error"]["Source"] == "GetPayment"
    )


# --- refused: every row of D11 and D12 -------------------------------------------------------


def answer(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["Errors"]["Error"]
    assert "x-encrypted" not in response.headers  # errors are never encrypted
    assert error["RequestId"] is None
    return response.status_code, error["ReasonCode"], error["Source"]


GATEWAY_400 = (400, "INVALID_AUTH_HEADER", "Gateway")
GATEWAY_401 = (401, "DECLINED", "Gateway")
GATEWAY_403 = (403, "AUTHENTICATION_FAILED", "Gateway")
ENCRYPTED_PAYLOAD = (400, "INVALID_INPUT_FORMAT", "Encrypted Payload")


def signed_for(client: Client, method: str, url: str, body: bytes) -> str:
    return mastercard_header(url, method, body, client.consumer_key, client.signing_key)


def tampered_body(client: Client) -> httpx.Response:
    body = client.encrypted_create("T-BODY", "json")
    header = signed_for(client, "POST", client.url("/payment"), body)
    return client.send("POST", "/payment", body + b" ", authorization=header)


def tampered_method(client: Client) -> httpx.Response:
    header = signed_for(client, "POST", client.url("/T/cancel"), b"")
    return client.send("GET", "/T/cancel", authorization=header)


def tampered_path(client: Client) -> httpx.Response:
    header = signed_for(client, "GET", client.url("/T1/cancel"), b"")
    return client.send("GET", "/T2/cancel", authorization=header)


def tampered_query(client: Client) -> httpx.Response:
    header = signed_for(client, "GET", client.url("?ref=A"), b"")
    return client.send("GET", "?ref=B", authorization=header)


def tampered_host(client: Client) -> httpx.Response:
    url = client.url("?ref=A").replace("127.0.0.1", "localhost")
    return client.send("GET", "?ref=A", authorization=signed_for(client, "GET", url, b""))


def wrong_key(client: Client) -> httpx.Response:
    return client.send("GET", "?ref=A", key=client.decryption.key)


def unknown_consumer_key(client: Client) -> httpx.Response:
    return client.send("GET", "?ref=A", consumer_key="unknown!123")


def skewed(seconds: int) -> Callable[[Client], httpx.Response]:
    def send(client: Client) -> httpx.Response:
        original = coreutils.get_timestamp
        coreutils.get_timestamp = lambda: int(time.time()) + seconds  # Mastercard's signer's clock
        try:
            return client.send("GET", "?ref=A")
        finally:
            coreutils.get_timestamp = original

    return send


def replayed_nonce(client: Client) -> httpx.Response:
    header = signed_for(client, "GET", client.url("?ref=A"), b"")
    assert client.send("GET", "?ref=A", authorization=header).status_code == 404
    return client.send("GET", "?ref=A", authorization=header)


def missing_header(client: Client) -> httpx.Response:
    return client.http.get(client.server.base_url + path("?ref=A"))


def malformed_header(client: Client) -> httpx.Response:
    return client.send("GET", "?ref=A", authorization='OAuth oauth_consumer_key="x",garbage')


def other_signature_method(client: Client) -> httpx.Response:
    header = OAuth.get_authorization_header(
        client.url("?ref=A"),
        "GET",
        None,
        client.consumer_key,
        client.signing_key,
        signature_method=SignatureMethod.RSA_PSS_SHA256,
    )
    return client.send("GET", "?ref=A", authorization=str(header))


def sandbox_key_for_mtf_partner(client: Client) -> httpx.Response:
    return client.send("GET", "?ref=A", partner=MTF_PARTNER)


def mtf_key_for_sandbox_partner(client: Client, mtf_signer: Party) -> httpx.Response:
    return client.send("GET", "?ref=A", consumer_key=MTF_KEY, key=mtf_signer.key)


def jwe_body(client: Client, change: Callable[[str], str]) -> httpx.Response:
    compact = unwrap(client.encrypted_create("T-JWE", "json"), "json")
    return client.send("POST", "/payment", wrap(change(compact), "json"))


def flip(compact: str, index: int) -> str:
    parts = compact.split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4)))
    raw[0] ^= 0xFF
    parts[index] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return ".".join(parts)


def header_changed(compact: str, **changes: str) -> str:
    parts = compact.split(".")
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    parts[0] = base64.urlsafe_b64encode(json.dumps(header | changes).encode()).rstrip(b"=").decode()
    return ".".join(parts)


def invalid_plaintext(client: Client) -> httpx.Response:
    compact = jwe.encrypt(
        b'{"paymentrequest": {',
        load_certificate(client.server_cert),
        kid=None,
        cty="application/json",
    )
    return client.send("POST", "/payment", wrap(compact, "json"))


ROWS: dict[str, tuple[Callable[..., httpx.Response], tuple[int, str, str]]] = {
    "tampered-body": (tampered_body, GATEWAY_403),
    "tampered-method": (tampered_method, GATEWAY_403),
    "tampered-path": (tampered_path, GATEWAY_403),
    "tampered-query": (tampered_query, GATEWAY_403),
    "tampered-host": (tampered_host, GATEWAY_403),
    "wrong-key": (wrong_key, GATEWAY_403),
    "unknown-consumer-key": (unknown_consumer_key, GATEWAY_401),
    "stale-timestamp": (skewed(-301), GATEWAY_401),
    "future-timestamp": (skewed(+330), GATEWAY_401),  # margin: the server reads its clock later
    "replayed-nonce": (replayed_nonce, GATEWAY_401),
    "missing-header": (missing_header, GATEWAY_400),
    "malformed-header": (malformed_header, GATEWAY_400),
    "other-signature-method": (other_signature_method, GATEWAY_400),
    "sandbox-key-mtf-partner": (sandbox_key_for_mtf_partner, GATEWAY_401),
    "mtf-key-sandbox-partner": (mtf_key_for_sandbox_partner, GATEWAY_401),
    "unknown-kid": (
        lambda c: jwe_body(c, lambda j: header_changed(j, kid="0" * 64)),
        ENCRYPTED_PAYLOAD,
    ),
    "truncated-jwe": (lambda c: jwe_body(c, lambda j: j[:-20]), ENCRYPTED_PAYLOAD),
    "corrupted-jwe": (lambda c: jwe_body(c, lambda j: flip(j, 3)), ENCRYPTED_PAYLOAD),
    "corrupted-tag": (lambda c: jwe_body(c, lambda j: flip(j, 4)), ENCRYPTED_PAYLOAD),
    "wrong-alg": (
        lambda c: jwe_body(c, lambda j: header_changed(j, alg="RSA1_5")),
        ENCRYPTED_PAYLOAD,
    ),
    "wrong-enc": (
        lambda c: jwe_body(c, lambda j: header_changed(j, enc="A128CBC-HS256")),
        ENCRYPTED_PAYLOAD,
    ),
    "invalid-plaintext": (invalid_plaintext, ENCRYPTED_PAYLOAD),
}


@pytest.mark.parametrize("row", sorted(ROWS))
def test_refusal_rows(client: Client, mtf_signer: Party, row: str) -> None:
    send, expected = ROWS[row]
    response = send(client, mtf_signer) if row == "mtf-key-sandbox-partner" else send(client)
    assert answer(response) == expected


def test_refused_requests_changed_nothing(client: Client) -> None:
    assert client.send("GET", "?ref=T-BODY", encrypted=False).status_code == 404
    assert client.send("GET", "?ref=T-JWE", encrypted=False).status_code == 404


# --- several server processes ----------------------------------------------------------------

PUBLIC_URL = "http://xbs.example.test"


def replay_across(first: ServerProcess, second: ServerProcess, workdir: Path) -> None:
    """A request accepted by one process is refused as a replay by the other."""
    client = client_for(first, workdir, public_url=PUBLIC_URL)
    header = signed_for(client, "GET", client.url("?ref=REPLAY"), b"")
    assert client.send("GET", "?ref=REPLAY", authorization=header).status_code == 404
    client.server = second
    assert answer(client.send("GET", "?ref=REPLAY", authorization=header)) == GATEWAY_401
    fresh = client.send("GET", "?ref=REPLAY")  # a new nonce is fine on the second process
    assert fresh.status_code == 404
    client.http.close()


def test_replayed_nonce_across_two_server_processes(tmp_path: Path) -> None:
    env = {"XBORDER_PUBLIC_URL": PUBLIC_URL}  # two processes behind one public address
    with running_server(tmp_path, env=env) as first, running_server(tmp_path, env=env) as second:
        assert "first run" not in second.log_path.with_suffix(".out").read_text()
        replay_across(first, second, tmp_path)


@pytest.mark.postgres
def test_replayed_nonce_across_two_server_processes_on_postgres(
    tmp_path: Path, worker_id: str
) -> None:
    skip_or_fail_without_postgres()
    name = f"xborder_replay_{worker_id}"
    url = create_postgres_database(name)
    env = {"XBORDER_PUBLIC_URL": PUBLIC_URL}
    try:
        with (
            running_server(tmp_path, database_url=url, env=env) as first,
            running_server(tmp_path, database_url=url, env=env) as second,
        ):
            replay_across(first, second, tmp_path)
    finally:
        drop_postgres_database(name)


def test_key_rotation_on_a_running_multi_process_server(tmp_path: Path) -> None:
    """`xborder keys rotate` while two workers serve; then `retire` the old key."""
    with running_server(tmp_path, args=("--workers", "2")) as server:
        client = client_for(server, tmp_path)
        old_kid = re.search(r"[0-9a-f]{64}", cli(client.data, "keys", "list"))
        assert old_kid is not None
        cli(client.data, "keys", "rotate")
        new_cert = tmp_path / "rotated.pem"
        new_cert.write_text(cli(client.data, "keys", "export-encryption-cert"))
        for attempt in range(6):  # enough to reach both workers
            old = client.send("POST", "/payment", client.encrypted_create(f"OLD-{attempt}", "json"))
            assert old.status_code == 200, old.text
            client.server_cert, saved = new_cert, client.server_cert
            client.oracle = mastercard_jwe(new_cert, client.decryption.key_path)
            new = client.send("POST", "/payment", client.encrypted_create(f"NEW-{attempt}", "json"))
            assert new.status_code == 200, new.text
            client.server_cert = saved
            client.oracle = mastercard_jwe(saved, client.decryption.key_path)
        cli(client.data, "keys", "retire", old_kid[0])
        for attempt in range(6):
            response = client.send(
                "POST", "/payment", client.encrypted_create(f"GONE-{attempt}", "json")
            )
            assert answer(response) == ENCRYPTED_PAYLOAD
        client.http.close()


# --- no secret in the logs -------------------------------------------------------------------


def pem_body(pem: bytes) -> list[str]:
    """The base64 lines of a PEM file, each long enough to be unmistakable."""
    return [
        line
        for line in pem.decode().splitlines()
        if line and not line.startswith("-----") and len(line) > 40
    ]


@pytest.mark.parametrize("level", ["info", "debug"])
def test_no_secret_in_the_server_log(tmp_path: Path, level: str) -> None:
    secrets: list[str] = []
    with running_server(tmp_path, env={"XBORDER_LOG_LEVEL": level}) as server:
        client = client_for(server, tmp_path)
        for fmt in ("json", "xml"):
            body = client.encrypted_create(
                f"LOG-{fmt}",
                fmt,
                sender={
                    "first_name": "Zyxwvutsender",
                    "last_name": "Qponmlk",
                    "address": {"line1": "1 Main St", "city": "New York", "country": "USA"},
                },
            )
            response = client.send("POST", "/payment", body, fmt=fmt)
            payment = client.opened(response, fmt)["payment"]
            secrets += [unwrap(body, fmt), unwrap(response.content, fmt)]
            client.opened(client.send("GET", f"/{payment['id']}", fmt=fmt), fmt)
            client.opened(client.send("GET", f"/{payment['id']}/cancel", fmt=fmt), fmt)
        header = signed_for(client, "GET", client.url("?ref=LOG-json"), b"")
        secrets.append(re.search(r'oauth_signature="([^"]+)"', header)[1])  # type: ignore[index]
        client.send("GET", "?ref=LOG-json", authorization=header)
        client.send("GET", "?ref=LOG-json", authorization=header)  # replay: refused and logged
        wrong_key(client)
        jwe_body(client, lambda j: flip(j, 4))
        invalid_plaintext(client)
        client.http.close()
    log = server.log_text()
    assert "request refused" in log  # the refusals were logged, with their reason only
    keys = [
        *(tmp_path / "data" / "dev").glob("*-key.pem"),
        *(tmp_path / "data" / "keys").glob("*.key.pem"),
    ]
    assert len(keys) == 3
    for key in keys:
        secrets += pem_body(key.read_bytes())
    secrets += ["Zyxwvutsender", "Qponmlk", "PRIVATE KEY", "paymentrequest"]
    leaked = [secret[:24] for secret in secrets if secret in log]
    assert leaked == []
