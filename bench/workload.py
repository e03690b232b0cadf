"""The benchmark's client: its keys, and pre-built raw HTTP requests, every one distinct.

Each record is one complete HTTP/1.1 request. A signed one carries the Authorization header
written by Mastercard's own signer (``oauth1.oauth.OAuth.get_authorization_header`` of
``mastercard-oauth1-signer``, its own random nonce and timestamp) over exactly the bytes sent;
an ``eu``-signed one (D23) carries ``Bearer`` and a fresh request token of the benchmark's eu
project, made by ``xborder.security.request_token.make_request_token`` as Mastercard's OAuth
2.0 reference client makes it (its own random ``jti``, valid 15 minutes from when the records
are built); an unsigned one (issue 12: the server runs with ``XBORDER_AUTH=off`` and the
bench partner is a sandbox partner) has no Authorization header at all. Encrypted requests
carry a JWE made by ``xborder.security.jwe.encrypt`` to the server's certificate (what
Mastercard's client-encryption library sends) and ``x-encrypted: true``. Records are built
before the timed phase, on both cores, and written to a file of length-prefixed records that
the load generator replays in order::

    <length>\\n<request bytes><length>\\n<request bytes>...

Requests address ``Host: 127.0.0.1`` (the URL they are signed for), whatever port the server
listens on: the server rebuilds the signed URL from the Host header (D11).
"""

from __future__ import annotations

import multiprocessing
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oauth1.oauth import OAuth

from xborder.api.codecs import JSON, XML
from xborder.security import jwe
from xborder.security.keys import (
    certificate_pem,
    fingerprint,
    generate_key_pair_and_certificate,
    load_certificate,
    load_private_key,
    write_private_key,
)
from xborder.security.request_token import make_request_token

HOST = "127.0.0.1"
PARTNER = "BENCH_PARTNER1"
BASE = f"/send/v1/partners/{PARTNER}/crossborder"
MEDIA = {"json": JSON.media_type, "xml": XML.media_type}
CODECS = {"json": JSON, "xml": XML}
CANCEL_BODY = {  # Mastercard's cancel request samples
    "json": b'{"cancelpaymentrequest":""}',
    "xml": b'<?xml version="1.0" encoding="utf-8"?><cancelpaymentrequest></cancelpaymentrequest>',
}


def payment_id(i: int) -> str:
    """The id of stored payment ``i`` (``rem_`` + 27 characters, like the product's)."""
    return f"rem_bench{i:022d}"


def reference(i: int) -> str:
    """The transaction reference of stored payment ``i`` (matches no sandbox trigger)."""
    return f"BENCH{i:010d}"


def payment_request(ref: str) -> dict[str, Any]:
    """A valid P2P mobile-money ``paymentrequest``: PENDING/Processing, cancellable."""
    return {
        "transaction_reference": ref,
        "sender_account_uri": "tel:+12125551234",
        "recipient_account_uri": "tel:+254108989",
        "payment_amount": {"amount": "100.00", "currency": "USD"},
        "payment_origination_country": "USA",
        "fx_type": {"forward": {"fees_included": "true", "receiver_currency": "KES"}},
        "payment_type": "P2P",
        "sender": {
            "first_name": "John",
            "last_name": "Jones",
            "address": {"line1": "1 Main St", "city": "New York", "country": "USA"},
        },
        "recipient": {
            "first_name": "Mary",
            "last_name": "Wanjiru",
            "address": {"line1": "2 Moi Avenue", "city": "Nairobi", "country": "KEN"},
        },
        "purpose_of_payment": "Family Maintenance",
    }


@dataclass(frozen=True)
class Client:
    """The benchmark projects' client side: consumer keys (the global OAuth 1.0a project and
    the eu one, D23, which share the signing key), key files, the server's cert."""

    consumer_key: str
    eu_consumer_key: str
    signing_key: Path
    signing_cert: Path
    encryption_key: Path  # decrypts encrypted answers (not needed to send)
    encryption_cert: Path  # registered: answers are encrypted to it
    server_cert: Path  # requests are encrypted to it (`xborder keys export-encryption-cert`)


def make_client(directory: Path, server_cert: Path) -> Client:
    """Fresh client keys in ``directory`` (never committed: bench/.work is git-ignored)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in ("signing", "encryption"):
        key, cert = generate_key_pair_and_certificate(f"xborder bench {name}", 7)
        paths[f"{name}_key"] = directory / f"{name}-key.pem"
        paths[f"{name}_cert"] = directory / f"{name}-cert.pem"
        for suffix in ("key", "cert"):
            paths[f"{name}_{suffix}"].unlink(missing_ok=True)
        write_private_key(paths[f"{name}_key"], key)
        paths[f"{name}_cert"].write_bytes(certificate_pem(cert))
    consumer_key = f"bench-{secrets.token_hex(6)}!{secrets.token_hex(16)}"
    eu_consumer_key = f"bench-eu-{secrets.token_hex(6)}!{secrets.token_hex(16)}"
    return Client(
        consumer_key=consumer_key,
        eu_consumer_key=eu_consumer_key,
        server_cert=server_cert,
        **paths,
    )


@dataclass(frozen=True)
class Kind:
    """What a record file holds: one operation, in one format, signed or not, plain or
    encrypted (only a signed request can ask for encryption), for the global project (OAuth
    1.0a) or the eu one (request tokens, D23)."""

    operation: str
    fmt: str = "json"
    encrypted: bool = False
    signed: bool = True
    region: str = "global"

    @property
    def label(self) -> str:
        signed = "signed" if self.region == "global" else f"{self.region}-signed"
        signed = signed if self.signed else "unsigned"
        return f"{signed} {self.operation} {self.fmt}{' enc' if self.encrypted else ''}"


def specs(kind: Kind, targets: Sequence[int], tag: str) -> list[tuple[str, str, bytes]]:
    """(method, path, plaintext body) of each request; ``targets`` are store indexes (cancel,
    retrieve) or sequence numbers (create)."""
    if kind.operation == "cancel":
        body = CANCEL_BODY[kind.fmt]
        return [("POST", f"{BASE}/{payment_id(i)}/cancel", body) for i in targets]
    if kind.operation == "retrieve":
        return [("GET", f"{BASE}/{payment_id(i)}", b"") for i in targets]
    codec = CODECS[kind.fmt]
    return [
        ("POST", f"{BASE}/payment", codec.encode({"paymentrequest": payment_request(f"C{tag}{i}")}))
        for i in targets
    ]


def write_records(
    path: Path, client: Client, kind: Kind, targets: Sequence[int], processes: int = 2
) -> int:
    """Build and write one request per target, on ``processes`` processes; return how many
    were written. Each process writes a contiguous share to its own file; the shares are
    joined, so the file holds the requests in the order of ``targets``."""
    work = specs(kind, targets, secrets.token_hex(5))
    context = multiprocessing.get_context("fork")
    parts = [path.with_name(f"{path.name}.part{i}") for i in range(processes)]
    bounds = [len(work) * i // processes for i in range(processes + 1)]
    children = [
        context.Process(
            target=_build_part, args=(client, kind, work[bounds[i] : bounds[i + 1]], parts[i])
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"building {kind.label} requests failed ({child.exitcode})")
    with path.open("wb") as out:
        for part in parts:
            out.write(part.read_bytes())
            part.unlink()
    return len(work)


def _build_part(
    client: Client, kind: Kind, chunk: list[tuple[str, str, bytes]], part: Path
) -> None:
    _init(client, kind)
    with part.open("wb") as out:
        for spec in chunk:
            raw = build_request(*spec)
            out.write(b"%d\n" % len(raw))
            out.write(raw)


_state: dict[str, Any] = {}


def _init(client: Client, kind: Kind) -> None:
    server_cert = load_certificate(client.server_cert)
    _state.update(
        client=client,
        kind=kind,
        key=load_private_key(client.signing_key.read_bytes()),
        key_pem=client.signing_key.read_bytes(),
        cert_pem=client.signing_cert.read_bytes(),
        server_cert=server_cert,
        kid=fingerprint(server_cert),
    )


def build_request(method: str, path: str, plaintext: bytes) -> bytes:
    """One raw HTTP/1.1 request: signed (and, for an encrypted kind, encrypted) or not."""
    client: Client = _state["client"]
    kind: Kind = _state["kind"]
    media = MEDIA[kind.fmt]
    body = plaintext
    headers = [("Host", HOST), ("Accept", media)]
    if kind.encrypted:
        headers.append(("x-encrypted", "true"))
        if body:
            compact = jwe.encrypt(body, _state["server_cert"], kid=_state["kid"], cty=media)
            body = CODECS[kind.fmt].encode({"encrypted_payload": {"data": compact}})
    if method == "POST":
        headers += [("Content-Type", media), ("Content-Length", str(len(body)))]
    if kind.signed and kind.region != "global":  # D23: a fresh token, a new jti each
        token = make_request_token(
            _state["key_pem"], _state["cert_pem"], client.eu_consumer_key, now=int(time.time())
        )
        headers.append(("Authorization", f"Bearer {token}"))
    elif kind.signed:  # Mastercard's signer: a cryptography private key, the body as bytes
        authorization = OAuth.get_authorization_header(
            f"http://{HOST}{path}", method, body, client.consumer_key, _state["key"]
        )
        headers.append(("Authorization", authorization))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("latin-1") + b"\r\n" + body


def read_records(path: Path) -> list[bytes]:
    """The records of a file written by :func:`write_records` (used by the Python generator
    and the smoke check)."""
    data = path.read_bytes()
    records, position = [], 0
    while position < len(data):
        newline = data.index(b"\n", position)
        length = int(data[position:newline])
        records.append(data[newline + 1 : newline + 1 + length])
        position = newline + 1 + length
    return records
