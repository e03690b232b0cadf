"""A live server for the contract fuzzer: its HTTP session, how it signs, what state it holds."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from oauth1.oauth import OAuth
from schemathesis.transport.serialization import serialize_xml_with_schema

from tests.e2e.server import UNSIGNED, ServerProcess, running_server
from xborder.api.admin import PREFIX as ADMIN_PREFIX
from xborder.api.codecs import XML
from xborder.api.payload_encryption import VALUE
from xborder.security.keys import load_private_key

ADMIN_TOKEN = "contract-fuzz-admin-token"
QUIET = {
    # Nothing moves unless a request moves it: a state change seen around a refused request
    # can only be that request's.
    "XBORDER_SCHEDULER": "off",
    "XBORDER_WEBHOOKS": "off",
    "XBORDER_ADMIN_TOKEN": ADMIN_TOKEN,
}
PAYMENT_TABLES = ("webhook_deliveries", "outbox", "ledger_entries", "queue_entries", "payments")
"""What payments write, children first (foreign keys)."""
# the request journal records refusals too (issue 14): what was asked, not what changed
BOOKKEEPING = frozenset(
    {"nonces", "scheduler_leases", "registry_version", "alembic_version", "journal_segments"}
)
"""Tables a refused request may write: a signed request consumes its nonce (D11)."""


REPEATED = frozenset({"Error"})
"""The XML elements the description gives as arrays (``ErrorsXml.Error``): unwrapped, so one
of them is indistinguishable from a lone element, which the codec reads as an object."""


@schemathesis.deserializer("application/xml", "text/xml")
def xml_answer(_context: schemathesis.DeserializationContext, response: Any) -> Any:
    """An XML answer as its schema describes it: the document under its root element (the
    root is the schema's ``xml.name``), read by the server's own codec."""
    ((_root, value),) = XML.decode(response.content).items()
    if isinstance(value, dict):  # one repeated element reads as itself: make it the array
        for name in REPEATED.intersection(value):
            if not isinstance(value[name], list):
                value[name] = [value[name]]
    return value


@schemathesis.serializer("application/xml", "text/xml")
def xml_request(context: schemathesis.SerializationContext, value: Any) -> bytes:
    """An XML request body under the root element its schema names.

    The description's XML body is ``anyOf`` the plain document and the encrypted wrapper,
    each a schema with its own ``xml.name``; schemathesis takes the root's name from the top
    schema only, so every body went out as ``<data>`` and was refused before validation. The
    branch is the wrapper for a value holding only ``data``, else the plain document; the
    rest is schemathesis' own XML writer."""
    case = context.case
    body = case.operation.get_body_for_media_type(case.media_type or "application/xml")
    schema: Any = body.optimized_schema if body is not None else {}
    branches = schema.get("anyOf") if isinstance(schema, dict) else None
    if branches:
        wrapper = isinstance(value, dict) and set(value) == {VALUE}
        chosen = branches[-1] if wrapper else branches[0]
        schema = {**chosen, **{k: v for k, v in schema.items() if k != "anyOf"}}
    data: bytes = serialize_xml_with_schema(value, schema, resource_name=None)["data"]
    return data


class Credentials(requests.auth.AuthBase):
    """Signs each XBS request exactly as sent with Mastercard's signer (when ``key`` is set)
    and carries the admin bearer token (D17) on admin paths."""

    def __init__(self, consumer_key: str | None = None, key: RSAPrivateKey | None = None):
        self.consumer_key = consumer_key
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        url = str(request.url)
        if urlsplit(url).path.startswith(ADMIN_PREFIX):
            request.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        elif self.key is not None:
            body = request.body
            payload = body.encode("utf-8") if isinstance(body, str) else body
            request.headers["Authorization"] = OAuth.get_authorization_header(
                url, str(request.method), payload or None, self.consumer_key, self.key
            )
        return request


@dataclass
class Live:
    """A running server, a session that authenticates as ``mode`` says, its database."""

    mode: str
    server: ServerProcess
    session: requests.Session
    database: Path

    def state(self) -> str:
        """A digest of every table but the bookkeeping ones."""
        digest = hashlib.sha256()
        uri = f"file:{self.database}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
            for (name,) in names.fetchall():
                if name in BOOKKEEPING or name.startswith("sqlite_"):
                    continue
                rows = db.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608
                digest.update(f"{name}:{sorted(map(repr, rows))}".encode())
        return digest.hexdigest()

    def forget_payments(self) -> None:
        """Delete every payment and what hangs off it, as on a fresh database: each stateful
        scenario then meets the same server, so Hypothesis can replay and shrink it. Run
        between requests only (the server caches no payment)."""
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as db, db:
            for table in PAYMENT_TABLES:
                db.execute(f'DELETE FROM "{table}"')  # noqa: S608

    def status_of(self, partner_id: str, payment_id: str) -> Any:
        """The payment's status through the Retrieve API, or the refusal's status code."""
        partner, payment = quote(partner_id, safe=""), quote(payment_id, safe="")
        url = self.server.url(f"/send/v1/partners/{partner}/crossborder/{payment}")
        response = self.session.get(url, headers={"Accept": "application/json"}, timeout=15)
        if response.status_code != 200:
            return response.status_code
        return response.json()["payment"]["status"]


@contextlib.contextmanager
def live_server(workdir: Path, mode: str) -> Iterator[Live]:
    """``xborder serve`` on a fresh SQLite database, unsigned or signed by its dev project."""
    env = {**QUIET, **(UNSIGNED if mode == "unsigned" else {})}
    with running_server(workdir, env=env) as server, requests.Session() as session:
        session.trust_env = False
        dev = workdir / "data" / "dev"
        if mode == "signed":
            consumer_key = (dev / "consumer-key.txt").read_text().strip()
            key = load_private_key((dev / "signing-key.pem").read_bytes())
            session.auth = Credentials(consumer_key, key)
        else:
            session.auth = Credentials()
        yield Live(mode, server, session, workdir / "data" / "xborder.db")
