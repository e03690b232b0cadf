"""Crash safety: SIGKILL in the middle of mixed load, restart, nothing lost (issue 6, D5, D14).

On each database, ``xborder serve --workers 2`` (cluster.SERVER_ENV, plus a fast push
sender) takes mixed load from :data:`LOADERS` threads drawing from :data:`OPERATIONS`:
sandbox and mtf creates, cancels, operator settles, fundings, clock moves. After a seeded
moment the whole process group is killed with SIGKILL, with requests in flight; then:

* every acknowledged create is stored (and the restarted server retrieves it), every
  acknowledged cancel is stored CANCELLED, every acknowledged settle SUCCESS (or later);
  the FUND entries cover every acknowledged funding and at most the unanswered ones besides;
* nothing is half-applied: SQLite's integrity and foreign-key checks pass and
  tests/e2e/invariants.py finds every payment in a legal state, one outbox event per status
  change, and a balanced ledger;
* the outbox still holds every event, and the restarted server delivers every event of the
  partners that registered a webhook (D14: never lost across a restart; an attempt cut off
  by the kill may be repeated, so duplicates are counted, not refused).

This repeats :data:`CYCLES` times on one database, each restart serving the next load.
``XBORDER_STRESS_SEED`` seeds the plan and the kill moments.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.e2e.cluster import (
    BACKENDS,
    SERVER_ENV,
    WORKERS,
    Answer,
    Database,
    Driver,
    database,
    register_mtf,
)
from tests.e2e.invariants import problems, snapshot, sqlite_integrity
from tests.e2e.server import ServerProcess, start_server
from tests.e2e.stress_plan import CLOCK_STEP, FUNDED, QUEUE, SANDBOX, Tracked
from tests.signing import Party, make_party
from tests.webhook_receiver import Receiver, receiving
from xborder.cli import main
from xborder.storage.tables import outbox

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("XBORDER_STRESS_SEED") or 61126)
CYCLES = 3
LOADERS = 12
KILL_AFTER = (1.0, 2.5)  # seconds of load before the SIGKILL
FUNDING = "50.00"
DELIVERY_TIMEOUT = 60.0
PUSHED = (FUNDED, QUEUE)  # partners with a webhook
CRASH_ENV = {
    **SERVER_ENV,
    "XBORDER_WEBHOOK_INTERVAL": "0.1",
    "XBORDER_WEBHOOK_BACKOFF": "0.05",
    "XBORDER_WEBHOOK_TIMEOUT": "2",
}


@dataclass
class Acknowledged:
    """What the clients were told, and what they were never told (cut off by the kill)."""

    creates: dict[str, Tracked] = field(default_factory=dict)
    cancels: set[str] = field(default_factory=set)
    settles: set[str] = field(default_factory=set)
    funded: int = 0  # minor units the admin API acknowledged
    unanswered_funding: int = 0
    unanswered: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    serial: int = 0

    def reference(self) -> str:
        with self.lock:
            self.serial += 1
            return f"CR{self.serial:06d}"

    def pick(self, rng: random.Random, partner: str | None = None) -> Tracked | None:
        with self.lock:
            known = [t for t in self.creates.values() if partner in (None, t.partner)]
        return rng.choice(known) if known else None

    def note(self, answer: Answer, allowed: tuple[int, ...]) -> bool:
        """True for a 200; counts an unanswered request; records any status not allowed."""
        if answer.status == 0:
            self.unanswered[answer.op] += 1
        elif answer.status not in allowed:
            self.unexpected.append(answer.brief())
        return answer.status == 200


Operation = Callable[[Driver, random.Random, Acknowledged], None]


def create(driver: Driver, rng: random.Random, acked: Acknowledged) -> None:
    partner = rng.choice([SANDBOX, FUNDED, QUEUE])
    tracked = Tracked("", partner, acked.reference(), rng.choice(["tel", "iban"]), "40.00")
    answer = driver.create(partner, tracked.body(), signed=tracked.signed)
    if acked.note(answer, (200,)):
        tracked.answers.append(answer)
        with acked.lock:
            acked.creates[str(answer.json()["payment"]["id"])] = tracked


def cancel(driver: Driver, rng: random.Random, acked: Acknowledged) -> None:
    tracked = acked.pick(rng)
    if tracked is not None and tracked.payment_id is not None:
        key = rng.choice([tracked.payment_id, tracked.reference])
        answer = driver.cancel(tracked.partner, key, signed=tracked.signed)
        if acked.note(answer, (200, 402)):
            acked.cancels.add(tracked.payment_id)


def settle(driver: Driver, rng: random.Random, acked: Acknowledged) -> None:
    tracked = acked.pick(rng, FUNDED)
    if tracked is not None and tracked.payment_id is not None:
        suffix = f"/partners/{FUNDED}/payments/{tracked.payment_id}/settle"
        if acked.note(driver.admin("settle", tracked.payment_id, suffix), (200, 409)):
            acked.settles.add(tracked.payment_id)


def fund(driver: Driver, _rng: random.Random, acked: Acknowledged) -> None:
    minor = int(float(FUNDING) * 100)
    answer = driver.admin(
        "fund", QUEUE, f"/partners/{QUEUE}/accounts/USD/fund", {"amount": FUNDING}
    )
    with acked.lock:
        if acked.note(answer, (200,)):
            acked.funded += minor
        elif answer.status == 0:
            acked.unanswered_funding += minor


def move_clock(driver: Driver, _rng: random.Random, acked: Acknowledged) -> None:
    acked.note(driver.admin("clock", "*", "/clock/advance", {"seconds": CLOCK_STEP}), (200,))


OPERATIONS: tuple[tuple[Operation, int], ...] = (
    (create, 8),
    (cancel, 5),
    (settle, 2),
    (fund, 2),
    (move_clock, 1),
)
"""The mixed load, with weights; one entry per kind of request."""


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_sigkill_under_load_loses_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    signer = make_party(tmp_path / "keys", "crash")
    rng = random.Random(f"{SEED}-crash-{backend}")
    acked, report = Acknowledged(), []
    with database(backend, tmp_path, "crash") as db, receiving() as receiver:
        register_mtf(db.engine, signer, (FUNDED, QUEUE))
        for partner in PUSHED:
            set_webhook(db, partner, receiver.url, tmp_path / "cli")
        server = start(db, tmp_path, 0)
        try:
            fund_generously(server, signer)
            for cycle in range(1, CYCLES + 1):
                server, line = crash_and_restart(db, tmp_path, server, signer, rng, acked, cycle)
                assert_retrievable(server, signer, acked)
                report.append(line)
            lost = wait_for_delivery(db, receiver, DELIVERY_TIMEOUT)
        finally:
            server.stop()
    repeated = Counter(r.document["eventRef"] for r in list(receiver.received))
    report.append(f"{len(repeated)} events pushed, {sum(repeated.values()) - len(repeated)} twice")
    print(f"crash[{backend}] XBORDER_STRESS_SEED={SEED}: " + "; ".join(report))
    assert not lost, f"{len(lost)} events of pushed partners never delivered: {lost[:10]}"


def fund_generously(server: ServerProcess, signer: Party) -> None:
    driver = Driver(server.base_url, signer, 1)
    try:
        suffix = f"/partners/{FUNDED}/accounts/USD/fund"
        answer = driver.admin("fund", FUNDED, suffix, {"amount": "1000000.00"})
    finally:
        driver.close()
    assert answer.status == 200, answer.brief()


def start(db: Database, tmp_path: Path, cycle: int) -> ServerProcess:
    args = ("--workers", str(WORKERS))
    return start_server(tmp_path / f"srv{cycle}", database_url=db.url, env=CRASH_ENV, args=args)


def set_webhook(db: Database, partner: str, url: str, data_dir: Path) -> None:
    command = ["partners", "set-webhook", "--partner-id", partner, "--url", url]
    where = ["--database-url", db.url, "--data-dir", str(data_dir)]
    result = CliRunner().invoke(main, [*command, *where])
    assert result.exit_code == 0, result.output


def crash_and_restart(
    db: Database,
    tmp_path: Path,
    server: ServerProcess,
    signer: Party,
    rng: random.Random,
    acked: Acknowledged,
    cycle: int,
) -> tuple[ServerProcess, str]:
    """Load ``server`` from many threads, SIGKILL it mid-load, check what is stored, start a
    new server; the new server and a line of counts."""
    driver, stop = Driver(server.base_url, signer, LOADERS), threading.Event()
    seeds = [rng.random() for _ in range(LOADERS)]
    threads = [
        threading.Thread(target=load, args=(driver, random.Random(s), acked, stop)) for s in seeds
    ]
    for thread in threads:
        thread.start()
    time.sleep(rng.uniform(*KILL_AFTER))
    server.kill()  # SIGKILL to the supervisor and both workers, requests in flight
    stop.set()
    for thread in threads:
        thread.join(60)
    driver.close()
    found = stored_problems(db, acked)
    assert not found, f"after the kill of cycle {cycle}:\n" + "\n".join(found[:40])
    line = counts(cycle, db, acked)
    return start(db, tmp_path, cycle), line


def load(driver: Driver, rng: random.Random, acked: Acknowledged, stop: threading.Event) -> None:
    operations, weights = zip(*OPERATIONS, strict=True)
    while not stop.is_set():
        rng.choices(operations, weights)[0](driver, rng, acked)


def stored_problems(db: Database, acked: Acknowledged) -> list[str]:
    """Every acknowledged change stored, nothing half-applied (the server is down)."""
    snap = snapshot(db.engine)
    found = sqlite_integrity(db.engine) + problems(snap) + list(acked.unexpected)
    for payment_id, tracked in acked.creates.items():
        row = snap.payments.get(payment_id)
        if row is None or row["transaction_reference"] != tracked.reference:
            found.append(f"acknowledged create {payment_id} ({tracked.reference}) not stored")
    for payment_id in acked.cancels:
        status = snap.payments[payment_id]["status"] if payment_id in snap.payments else None
        if status != "CANCELLED":
            found.append(f"acknowledged cancel of {payment_id}: stored {status}")
    for payment_id in acked.settles:
        status = snap.payments[payment_id]["status"] if payment_id in snap.payments else None
        if status not in ("SUCCESS", "RETURNED"):
            found.append(f"acknowledged settle of {payment_id}: stored {status}")
    funded = snap.funded(QUEUE)
    if not acked.funded <= funded <= acked.funded + acked.unanswered_funding:
        found.append(
            f"FUND entries {funded}, acknowledged {acked.funded}"
            f" (+{acked.unanswered_funding} unanswered)"
        )
    return found


def assert_retrievable(server: ServerProcess, signer: Party, acked: Acknowledged) -> None:
    """The restarted server answers for every acknowledged payment."""
    driver = Driver(server.base_url, signer, 8)
    try:
        missing = [a.brief() for a in retrieve_all(driver, acked) if a.status != 200]
    finally:
        driver.close()
    assert not missing, "acknowledged payments not retrievable after restart:\n" + "\n".join(
        missing[:20]
    )


def counts(cycle: int, db: Database, acked: Acknowledged) -> str:
    """One line of what was acknowledged, cut off and stored so far."""
    waiting = outbox.c.outcome.is_(None) if hasattr(outbox.c, "outcome") else outbox.c.id > 0
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
        pending = connection.execute(sa.select(sa.func.count()).where(waiting)).scalar_one()
    return (
        f"after kill {cycle}: {len(acked.creates)} creates, {len(acked.cancels)} cancels,"
        f" {len(acked.settles)} settles, {acked.funded // 100} USD funded acknowledged,"
        f" unanswered {dict(sorted(acked.unanswered.items()))}, outbox {rows} rows"
        f" ({pending} waiting for delivery)"
    )


def retrieve_all(driver: Driver, acked: Acknowledged) -> Iterator[Answer]:
    for payment_id, tracked in list(acked.creates.items()):
        yield driver.retrieve(tracked.partner, payment_id, signed=tracked.signed)


def wait_for_delivery(db: Database, receiver: Receiver, timeout: float) -> list[str]:
    """Wait until every outbox event of a pushed partner has reached the receiver (an
    attempt the kill cut off is retried once its claim expires); the events still missing."""
    pushed = sa.select(outbox.c.event_ref).where(outbox.c.partner_id.in_(PUSHED))
    deadline = time.monotonic() + timeout
    while True:
        with db.engine.connect() as connection:
            expected = set(connection.execute(pushed).scalars())
        arrived = {r.document["eventRef"] for r in list(receiver.received)}
        missing = sorted(expected - arrived)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(0.2)
