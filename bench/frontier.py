"""The frontier: the cheapest stateful requests this machine can serve, as a raw ASGI app.

Issue 12 measured a 60-line app (raw ASGI, SQLite inline on the event loop) to show what a
real cancel can cost. This is that app, grown to each request a target of issue 12 measures
(cancel, signed cancel, create, retrieve; the cancel on PostgreSQL), with xborder's own
durability and batching, served exactly as ``xborder serve`` serves xborder (uvicorn,
uvloop, httptools, no access log), on a copy of the same bench store, driven with the same
requests:

- SQLite in WAL mode, ``synchronous=NORMAL``, foreign keys on, SQLite's automatic checkpoints
  off and a thread checkpointing every 20 ms (xborder's defaults: every acknowledged cancel
  survives SIGKILL, and the benchmark checks it does);
- the writes that reach the loop on one turn run in one transaction (group commit), each
  answered only after that transaction's ``COMMIT``;
- per cancel: the JSON body decoded, the payment read by id (its status and version), a
  version-guarded update to CANCELLED, and the status change's outbox row, with a UUID v7
  ``event_ref`` as xborder writes it; a payment that is not pending is refused (400);
- a signed cancel (``Authorization`` present) first has its OAuth 1.0a signature checked by
  xborder's own verifier (``xborder.security.oauth1.verify``: the body hash, the base string,
  RSA-SHA256 against the certificate of ``XBORDER_FRONTIER_CERT``), and its nonce inserted
  in the cancel's own transaction (refused, 401, if seen before: no nonce twice, as in xborder);
- per create (``POST`` to ``.../payment``): the JSON document decoded, the payment inserted
  (PENDING, a new ``rem_`` id, the document stored as its text and its SHA-256) with its
  outbox row, in the group's transaction; a reference the partner used before is refused;
- per retrieve (``GET`` of a payment's path): the payment's row read by id and partner on
  the event loop, its stored request document parsed, and the row's columns with that
  document encoded as the JSON answer (orjson); an unknown payment is a 404;
- on PostgreSQL (``XBORDER_FRONTIER_DB`` a ``postgresql://`` URL; the cancel only, with
  ``--workers``): each worker's cancels that arrive while its previous group is in flight
  go in the next, one statement each (the update guarded by the status, and its event fed by
  the row it returns), pipelined on one psycopg connection, in one transaction.

It has nothing else: no authentication, validation, content negotiation, domain model,
view, request journal, access log, metrics, scheduler or webhook sender, and a fixed answer
to a cancel. So the ratio it reaches is the most any implementation of that request on this
schema and this server can reach here, whatever its design: the part of a ratio target that
xborder's own work can still win is the gap between xborder's ratio and this one.

    XBORDER_FRONTIER_DB=path.db python -m bench.frontier --port 8099
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from bench.noop import serve
from xborder.domain.model import new_payment_id
from xborder.security import oauth1
from xborder.security.keys import load_certificate
from xborder.storage.payments import event_ref

DATABASE_ENV = "XBORDER_FRONTIER_DB"
CERTIFICATE_ENV = "XBORDER_FRONTIER_CERT"  # the signing certificate of signed requests
READY = "bench-frontier-ready"
CHECKPOINT_SECONDS = 0.02
BODY = b'{"cancelpaymentresponse":{"status":"CANCELLED"}}'
REFUSED = b'{"Errors":{"Error":[{"ReasonCode":"INVALID_STATUS"}]}}'
_NONCE = (
    "INSERT INTO nonces (consumer_key, nonce, timestamp) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
_CREATE = (
    "INSERT INTO payments (id, partner_id, transaction_reference, environment, status, "
    "pending_stage, channel, created, status_timestamp, request_json, request_fingerprint, "
    "version) VALUES (?, ?, ?, 'sandbox', 'PENDING', 'Processing', 'MOBILE_MONEY', ?, ?, ?, ?, 1)"
)
_CREATED = (
    "INSERT INTO outbox (event_ref, payment_id, partner_id, transaction_reference, "
    "previous_status, status, pending_stage, occurred_at, attempts) "
    "VALUES (?, ?, ?, ?, 'PENDING', 'PENDING', 'Processing', ?, 0)"
)
_POSTGRES_CANCEL = (
    "WITH changed AS (UPDATE payments SET status = 'CANCELLED', pending_stage = NULL, "
    "pending_max_completion_date = NULL, status_timestamp = %s, version = version + 1 "
    "WHERE id = %s AND status = 'PENDING' RETURNING id, partner_id, transaction_reference) "
    "INSERT INTO outbox (event_ref, payment_id, partner_id, transaction_reference, "
    "previous_status, status, occurred_at, attempts) "
    "SELECT %s, id, partner_id, transaction_reference, 'PENDING', 'CANCELLED', %s, 0 FROM changed"
)
_RETRIEVE = "SELECT * FROM payments WHERE id = ? AND partner_id = ?"
_READ = "SELECT status, version, partner_id, transaction_reference FROM payments WHERE id = ?"
_CANCEL = (
    "UPDATE payments SET status = 'CANCELLED', pending_stage = NULL, "
    "pending_max_completion_date = NULL, status_timestamp = ?, version = version + 1 "
    "WHERE id = ? AND version = ?"
)
_EVENT = (
    "INSERT INTO outbox (event_ref, payment_id, partner_id, transaction_reference, "
    "previous_status, status, occurred_at, attempts) "
    "VALUES (?, ?, ?, ?, 'PENDING', 'CANCELLED', ?, 0)"
)


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]


class Frontier:
    """The app: one SQLite connection on the event loop, the writes of a turn in one group (on
    PostgreSQL: one connection per worker, its waiting cancels in one pipelined group)."""

    def __init__(self, path: str, certificate: str) -> None:
        self.path = path
        self.certificate = certificate
        self.public_key: Any = None
        self.connection: sqlite3.Connection | None = None
        self.postgres: psycopg.AsyncConnection[Any] | None = None
        self.cancels: list[tuple[asyncio.Future[int], str]] = []  # waiting, on PostgreSQL
        self.groups: asyncio.Task[None] | None = None  # running PostgreSQL's groups
        self.waiting: list[tuple[asyncio.Future[int], Callable[[sqlite3.Cursor, str], int]]] = []

    async def open(self) -> None:
        if self.path.startswith("postgresql"):
            self.postgres = await psycopg.AsyncConnection.connect(self.path)
            return
        if self.certificate:
            self.public_key = load_certificate(self.certificate).public_key()
        self.connection = _connect(self.path)
        self.connection.execute("PRAGMA wal_autocheckpoint=0")
        threading.Thread(target=self._checkpoint, name="checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        connection = _connect(self.path)
        while True:
            time.sleep(CHECKPOINT_SECONDS)
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        status, answer = 200, BODY  # the readiness probe's (GET /)
        if scope["method"] == "POST" and path.endswith("/payment"):
            document = json.loads(body)["paymentrequest"]
            payment_id, partner_id = new_payment_id(), path.split("/")[-3]
            status = await self._write(lambda cursor, now: _create_one(
                cursor, payment_id, partner_id, document, now))  # fmt: skip
            created = {"payment": {"id": payment_id, "status": "PENDING", **document}}
            answer = orjson.dumps(created) if status == 200 else REFUSED
        elif scope["method"] == "POST" and self.postgres is not None:
            status = await self._postgres_cancel(path.rsplit("/", 2)[-2])
            answer = BODY if status == 200 else REFUSED
        elif scope["method"] == "POST":
            signed = self._verified(scope, body)
            json.loads(body)
            payment_id = path.rsplit("/", 2)[-2]
            status = await self._write(lambda cursor, now: _cancel_one(
                cursor, payment_id, now, signed))  # fmt: skip
            answer = BODY if status == 200 else REFUSED
        elif path != "/":
            status, answer = self._retrieve(path)
        await send({"type": "http.response.start", "status": status, "headers": _headers(answer)})
        await send({"type": "http.response.body", "body": answer})

    def _verified(self, scope: dict[str, Any], body: bytes) -> oauth1.OAuthParams | None:
        """A signed request's OAuth parameters, its signature checked; None if unsigned."""
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        if authorization is None:
            return None
        url = f"http://{headers[b'host'].decode()}{scope['raw_path'].decode()}"
        key = self.public_key
        now = int(time.time())
        return oauth1.verify("POST", url, authorization.decode(), body,
                             public_key_for=lambda _consumer: key, now=now)  # fmt: skip

    def _write(self, work: Callable[[sqlite3.Cursor, str], int]) -> asyncio.Future[int]:
        """``work`` run in the next group's transaction; its status once that commits."""
        loop = asyncio.get_running_loop()
        if not self.waiting:
            loop.call_soon(self._flush)
        future: asyncio.Future[int] = loop.create_future()
        self.waiting.append((future, work))
        return future

    def _postgres_cancel(self, payment_id: str) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self.cancels.append((future, payment_id))
        if self.groups is None or self.groups.done():
            self.groups = loop.create_task(self._postgres_groups())
        return future

    async def _postgres_groups(self) -> None:
        """Run the waiting cancels as a group until none wait; more gather meanwhile."""
        assert self.postgres is not None
        connection = self.postgres
        while self.cancels:
            group, self.cancels = self.cancels, []
            now = datetime.now(UTC)
            try:
                async with connection.transaction(), connection.pipeline():
                    cursors = [await connection.execute(_POSTGRES_CANCEL,
                                                        (now, pid, event_ref(), now))
                               for _, pid in group]  # fmt: skip
                statuses = [200 if cursor.rowcount == 1 else 400 for cursor in cursors]
            except psycopg.Error:  # rolled back: every caller of the group hears it (500)
                statuses = [500] * len(group)
            for (future, _), status in zip(group, statuses, strict=True):
                future.set_result(status)

    def _retrieve(self, path: str) -> tuple[int, bytes]:
        """``/send/v1/partners/{partner}/crossborder/{payment-id}``: the stored payment."""
        parts = path.split("/")
        assert self.connection is not None
        cursor = self.connection.execute(_RETRIEVE, (parts[-1], parts[-3]))
        row = cursor.fetchone()
        if row is None:
            return 404, REFUSED
        payment = dict(zip((c[0] for c in cursor.description), row, strict=True))
        payment["request"] = json.loads(payment.pop("request_json"))
        return 200, orjson.dumps({"payment": payment})

    def _flush(self) -> None:
        """One transaction for every write waiting; the answers only after its commit."""
        group, self.waiting = self.waiting, []
        assert self.connection is not None
        cursor = self.connection.cursor()
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            statuses = [work(cursor, now) for _, work in group]
            cursor.execute("COMMIT")
        except sqlite3.Error:  # nothing of the group holds: every caller hears it (500)
            if self.connection.in_transaction:
                cursor.execute("ROLLBACK")
            statuses = [500] * len(group)
        for (future, _), status in zip(group, statuses, strict=True):
            future.set_result(status)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.open()
                print(f"{READY} {os.getpid()}", file=sys.stderr, flush=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _cancel_one(
    cursor: sqlite3.Cursor, payment_id: str, now: str, signed: oauth1.OAuthParams | None
) -> int:
    if signed is not None:
        cursor.execute(_NONCE, (signed.consumer_key, signed.nonce, signed.timestamp))
        if cursor.rowcount != 1:
            return 401
    row = cursor.execute(_READ, (payment_id,)).fetchone()
    if row is None or row[0] != "PENDING":
        return 400
    cursor.execute(_CANCEL, (now, payment_id, row[1]))
    if cursor.rowcount != 1:
        return 400
    cursor.execute(_EVENT, (event_ref(), payment_id, row[2], row[3], now))
    return 200


def _create_one(
    cursor: sqlite3.Cursor, payment_id: str, partner_id: str, document: Any, now: str
) -> int:
    text = orjson.dumps(document).decode()
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    reference = document["transaction_reference"]
    try:
        cursor.execute(_CREATE, (payment_id, partner_id, reference, now, now, text, fingerprint))
    except sqlite3.IntegrityError:  # the partner's reference is taken
        return 400
    cursor.execute(_CREATED, (event_ref(), payment_id, partner_id, reference, now))
    return 200


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


app = Frontier(os.environ.get(DATABASE_ENV, ""), os.environ.get(CERTIFICATE_ENV, ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="PostgreSQL only")
    args = parser.parse_args()
    serve("bench.frontier:app", args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
