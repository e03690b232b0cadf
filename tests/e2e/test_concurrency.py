"""Concurrent cancels across two server processes sharing one SQLite file (D5, D6, D14).

Two ``xborder serve`` processes on different ports use the same database file. For each of
several pending, cancellable payments (mobile money ``tel:`` recipient, a reference matching
no trigger, so PENDING/Processing), 32 cancels split across both servers, by id and by
reference, POST and GET, are released at once. Exactly one succeeds, every other one is
refused with 402 DECLINE 130111, Retrieve shows CANCELLED on both servers, and the outbox
holds exactly one CANCELLED event for the payment. Identical creates raced the same way make
one payment, and every one of them is answered with it (D7's safe retry).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import UNSIGNED, ServerProcess, running_server
from tests.payloads import encode, path, payment_request

pytestmark = pytest.mark.slow

PAYMENTS = 5
RACERS = 32  # concurrent requests per race, half on each server
TIMEOUT = 15.0
CANCEL_SUCCESS = {"cancelpayment": {"status": "SUCCESS"}}


@dataclass(frozen=True)
class Cluster:
    """Two servers on one SQLite file, and a client for each."""

    database: Path
    clients: tuple[httpx.Client, httpx.Client]


@dataclass(frozen=True)
class Outcome:
    """What one request got back."""

    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    database = root / "x.db"
    url = f"sqlite:///{database}"  # an absolute path: sqlite:////tmp/...
    # One after the other: the first applies the migrations, the second finds them applied.
    with (
        running_server(root / "a", database_url=url, env=UNSIGNED) as first,
        running_server(root / "b", database_url=url, env=UNSIGNED) as second,
        client_for(first) as one,
        client_for(second) as two,
    ):
        yield Cluster(database, (one, two))


def client_for(server: ServerProcess) -> httpx.Client:
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=RACERS)
    return httpx.Client(base_url=server.base_url, timeout=TIMEOUT, limits=limits, trust_env=False)


def create_pending(client: httpx.Client, reference: str) -> str:
    content, headers = encode({"paymentrequest": payment_request(reference)}, "json")
    response = client.post(path("/payment"), content=content, headers=headers)
    assert response.status_code == 200, response.text
    payment = response.json()["payment"]
    assert (payment["status"], payment["pending_stage"]) == ("PENDING", "Processing")
    return str(payment["id"])


def send_cancel(client: httpx.Client, key: str, method: str) -> Outcome:
    if method == "GET":
        response = client.get(path(f"/{key}/cancel"), headers={"Accept": "application/json"})
    else:
        content, headers = encode({"cancelpaymentrequest": ""}, "json")
        response = client.post(path(f"/{key}/cancel"), content=content, headers=headers)
    return Outcome(response.status_code, response.content)


def send_create(client: httpx.Client, reference: str) -> Outcome:
    content, headers = encode({"paymentrequest": payment_request(reference)}, "json")
    response = client.post(path("/payment"), content=content, headers=headers)
    return Outcome(response.status_code, response.content)


def race(send: Callable[[int], Outcome]) -> list[Outcome]:
    """Call ``send(0)`` ... ``send(RACERS - 1)`` from as many threads, released at once."""
    barrier = threading.Barrier(RACERS, timeout=TIMEOUT)

    def one(index: int) -> Outcome:
        barrier.wait()
        return send(index)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def race_cancels(cluster: Cluster, payment_id: str, reference: str) -> list[Outcome]:
    """Cancels alternating server, key (id, reference) and method (POST, GET)."""

    def send(index: int) -> Outcome:
        key = payment_id if index // 2 % 2 == 0 else reference
        method = "POST" if index // 4 % 2 == 0 else "GET"
        return send_cancel(cluster.clients[index % 2], key, method)

    return race(send)


def is_refusal(outcome: Outcome) -> bool:
    if outcome.status != 402:
        return False
    error = outcome.json()["Errors"]["Error"]
    return bool(
        error["ReasonCode"] == "DECLINE"
        and error["Source"] == "CancelPayment"
        and error["Details"]["Detail"] == {"Name": "ErrorDetailCode", "Value": "130111"}
    )


def select(database: Path, query: str, *params: str) -> list[tuple[Any, ...]]:
    """Rows read straight from the shared SQLite file, read-only."""
    uri = f"file:{database}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
        return list(connection.execute(query, params))


def cancelled_events(database: Path, payment_id: str) -> list[tuple[Any, ...]]:
    """(previous_status, status) of the payment's CANCELLED outbox events."""
    query = "SELECT previous_status, status FROM outbox WHERE payment_id = ? AND status = ?"
    return select(database, query, payment_id, "CANCELLED")


@pytest.mark.parametrize("round_", range(PAYMENTS))
def test_exactly_one_of_concurrent_cancels_wins(cluster: Cluster, round_: int) -> None:
    reference = f"RACE-{round_:02d}"
    payment_id = create_pending(cluster.clients[round_ % 2], reference)

    outcomes = race_cancels(cluster, payment_id, reference)

    assert not [o for o in outcomes if o.status >= 500 or b"locked" in o.body], outcomes
    winners = [o for o in outcomes if o.status == 200]
    assert [o.json() for o in winners] == [CANCEL_SUCCESS], outcomes
    refused = [o for o in outcomes if o.status != 200]
    assert len(refused) == RACERS - 1 and all(map(is_refusal, refused)), refused
    for client in cluster.clients:
        retrieved = client.get(path(f"?ref={reference}"), headers={"Accept": "application/json"})
        assert retrieved.json()["payment"]["status"] == "CANCELLED"
    assert cancelled_events(cluster.database, payment_id) == [("PENDING", "CANCELLED")]


def test_identical_concurrent_creates_make_one_payment(cluster: Cluster) -> None:
    reference = "RACE-CREATE"
    outcomes = race(lambda index: send_create(cluster.clients[index % 2], reference))

    assert {o.status for o in outcomes} == {200}, outcomes
    ids = {o.json()["payment"]["id"] for o in outcomes}
    assert len(ids) == 1, ids
    query = "SELECT id FROM payments WHERE transaction_reference = ?"
    assert select(cluster.database, query, reference) == [(ids.pop(),)]
