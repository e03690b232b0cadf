"""Several server processes over real HTTP on SQLite or PostgreSQL, for the stress and crash
suites (issue 6).

* :func:`database` gives a migrated database of either kind with an mtf project registered
  (its partners need signed requests, D11/D13) and an engine the test audits it through.
  PostgreSQL gets a database of its own, dropped at the end; without PostgreSQL the test is
  skipped, or fails under ``XBORDER_REQUIRE_POSTGRES=1``.
* :data:`SERVER_ENV` is the deployment: unsigned sandbox requests admitted (mtf ones still
  signed), the admin API on, the controllable clock kept in the database, the scheduler in
  every worker, lifecycle delays long enough that only clock moves make steps due.
* :class:`Driver` sends XBS and admin requests from many threads and returns every answer
  as an :class:`Answer` with its wall-clock interval, so checks can reason about order.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.databases import (
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail_without_postgres,
)
from tests.e2e.server import UNSIGNED
from tests.payloads import encode, path
from tests.signing import Party
from xborder.client import OAuth1Auth
from xborder.clock import SystemClock
from xborder.domain.projects import Environment
from xborder.services import projects
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
WORKERS = 2
ADMIN_TOKEN = "cluster-admin-token"
CONSUMER_KEY = "cluster-mtf!00112233445566778899"
SANDBOX_PARTNER = "SANDBOX_CLUSTER"
MAX_QUEUE_SECONDS = 3600
STAGE_DELAY = 600  # seconds in Processing, then in EligibleForSettlement
TIMEOUT = 60.0

SERVER_ENV = {
    **UNSIGNED,
    "XBORDER_ADMIN_TOKEN": ADMIN_TOKEN,
    "XBORDER_CLOCK": "controllable",
    "XBORDER_SCHEDULER_INTERVAL": "0.2",
    "XBORDER_MAX_QUEUE_SECONDS": str(MAX_QUEUE_SECONDS),
    "XBORDER_LIFECYCLE_DELAYS": f"MOBILE_MONEY={STAGE_DELAY}/{STAGE_DELAY},"
    f"BANK_ACCOUNT={STAGE_DELAY}/{STAGE_DELAY}",
}


@dataclass(frozen=True)
class Database:
    """A migrated database the servers share, and the test's own engine on it."""

    kind: str
    url: str
    engine: Engine


@contextlib.contextmanager
def database(kind: str, workdir: Path, purpose: str) -> Iterator[Database]:
    """A migrated database of ``kind`` (``sqlite`` or ``postgres``), removed afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'xborder.db'}"
        with _migrated(url) as engine:
            yield Database(kind, url, engine)
        return
    skip_or_fail_without_postgres()
    name = f"xborder_{purpose}_{os.getpid()}"
    url = create_postgres_database(name)
    try:
        with _migrated(url) as engine:
            yield Database(kind, url, engine)
    finally:
        drop_postgres_database(name)


@contextlib.contextmanager
def _migrated(url: str) -> Iterator[Engine]:
    engine = make_engine(url, pool_size=2)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


def register_mtf(engine: Engine, signer: Party, partners: Iterable[str]) -> None:
    """An mtf project signing with ``signer``, with ``partners`` bound to it (D13)."""
    uow_factory, clock = SqlAlchemyUowFactory(engine), SystemClock()
    projects.add_project(
        CONSUMER_KEY, Environment.MTF, signer.cert_pem, uow_factory=uow_factory, clock=clock
    )
    for partner in partners:
        projects.bind_partner(partner, CONSUMER_KEY, uow_factory=uow_factory, clock=clock)


@dataclass(frozen=True)
class Answer:
    """One request's outcome; ``status`` 0 means no answer (connection lost, timeout).
    ``started`` and ``ended`` are wall-clock seconds (``time.time()``), comparable with the
    server's timestamps on the same machine."""

    op: str
    key: str
    status: int
    body: bytes
    started: float
    ended: float
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def brief(self) -> str:
        text = self.error or self.body[:300].decode("utf-8", "replace")
        return f"{self.op}({self.key}) -> {self.status} {text}"


@dataclass(frozen=True)
class SignedRequest:
    """A signed request exactly as sent, to replay it."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes


class Driver:
    """XBS and admin calls from any number of threads; one connection pool for all."""

    def __init__(self, base_url: str, signer: Party, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.base_url = base_url
        self.signed: list[SignedRequest] = []
        self._lock = threading.Lock()
        self._auth = OAuth1Auth(CONSUMER_KEY, signer.key)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=TIMEOUT,
            limits=limits,
            trust_env=False,
            event_hooks={"request": [self._capture]},
        )

    def close(self) -> None:
        self._http.close()

    def create(
        self, partner: str, body: dict[str, Any], *, signed: bool, fmt: str = "json"
    ) -> Answer:
        content, headers = encode({"paymentrequest": body}, fmt)
        headers["Accept"] = "application/json"
        key = str(body["transaction_reference"])
        url = path("/payment", partner=partner)
        return self._send("create", key, "POST", url, content, headers, signed)

    def cancel(self, partner: str, key: str, *, signed: bool, method: str = "POST") -> Answer:
        content, headers = encode({"cancelpaymentrequest": ""}, "json")
        url = path(f"/{quote(key, safe='')}/cancel", partner=partner)
        if method == "GET":
            return self._send("cancel", key, "GET", url, b"", {"Accept": headers["Accept"]}, signed)
        return self._send("cancel", key, "POST", url, content, headers, signed)

    def retrieve(self, partner: str, payment_id: str, *, signed: bool) -> Answer:
        url = path(f"/{quote(payment_id, safe='')}", partner=partner)
        accept = {"Accept": "application/json"}
        return self._send("retrieve", payment_id, "GET", url, b"", accept, signed)

    def admin(
        self, op: str, key: str, suffix: str, document: dict[str, Any] | None = None
    ) -> Answer:
        """``POST /admin/v1{suffix}`` with the admin token (``GET`` when ``op`` is ``get``)."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
        content = json.dumps(document).encode() if document is not None else b""
        method = "GET" if op == "get" else "POST"
        return self._send(op, key, method, f"/admin/v1{suffix}", content, headers, False)

    def replay(self, request: SignedRequest) -> Answer:
        """Send a captured signed request again, byte for byte, on a new connection (so it
        may reach any worker process)."""
        started = time.time()
        headers = {**request.headers, "Connection": "close"}
        with httpx.Client(timeout=TIMEOUT, trust_env=False) as fresh:
            response = fresh.request(
                request.method, request.url, content=request.content, headers=headers
            )
        return Answer(
            "replay", request.url, response.status_code, response.content, started, time.time()
        )

    def _send(
        self,
        op: str,
        key: str,
        method: str,
        url: str,
        content: bytes,
        headers: dict[str, str],
        signed: bool,
    ) -> Answer:
        started = time.time()
        try:
            response = self._http.request(
                method,
                url,
                content=content or None,
                headers=headers,
                auth=self._auth if signed else None,
            )
        except httpx.HTTPError as exc:
            return Answer(op, key, 0, b"", started, time.time(), repr(exc))
        return Answer(op, key, response.status_code, response.content, started, time.time())

    def _capture(self, request: httpx.Request) -> None:
        if request.headers.get("authorization", "").startswith("OAuth "):
            captured = SignedRequest(
                request.method, str(request.url), dict(request.headers), request.read()
            )
            with self._lock:
                self.signed.append(captured)


def worker_cpu_seconds(supervisor_pid: int) -> dict[int, float]:
    """CPU seconds used so far by each child of the server's supervisor process (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    usage: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == supervisor_pid:  # field 4, ppid
                usage[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return usage
