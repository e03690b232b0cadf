"""Exactly once under contention, over real HTTP, against two worker processes (issue 6).

On each database (SQLite in WAL mode, PostgreSQL), ``xborder serve --workers 2`` runs with the
admin API, the controllable clock and a scheduler thread in each worker (cluster.SERVER_ENV).
:data:`LANES` lanes run concurrently; each draws :data:`BURSTS` bursts from
``stress_plan.SCENARIOS`` (cancel against cancel, against settle, against queue expiry,
funding against cancel, operator actions against cancel, cancels by stage, duplicate creates
of one reference) and releases each burst's requests at once from its own threads, so up to
LANES x RACERS requests are in flight across the two workers. Requests for mtf partners are
signed (each records an OAuth nonce in the shared table); sandbox ones are not.

Then a sample of the signed requests is replayed verbatim on fresh connections: each must be
refused (401, D11) whichever worker takes it, which only a nonce store shared through the
database can do. Both workers must have done a share of the work, and one of them (only)
must hold the scheduler's lease.

With the server stopped, the database is audited (tests/e2e/invariants.py: legal states,
one outbox event per status change, a balanced ledger) and every answer is held against it
(tests/e2e/stress_checks.py). All problems are reported together with the seed.

Replay a failure with ``XBORDER_STRESS_SEED=<seed> .venv/bin/python -m pytest
tests/e2e/test_stress.py -p no:cacheprovider``; the plan (which payments, which requests,
which keys) is the same, the interleaving is up to the machine.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e import stress_checks as checks
from tests.e2e.cluster import (
    BACKENDS,
    CONSUMER_KEY,
    SERVER_ENV,
    STAGE_DELAY,
    TIMEOUT,
    WORKERS,
    Answer,
    Database,
    Driver,
    database,
    register_mtf,
    worker_cpu_seconds,
)
from tests.e2e.invariants import problems, snapshot, sqlite_integrity
from tests.e2e.server import ServerProcess, running_server
from tests.e2e.stress_plan import (
    CLOCK_STEP,
    FUNDED,
    INITIAL_FUNDING,
    MTF_PARTNERS,
    SCENARIOS,
    Thunk,
    World,
)
from tests.signing import make_party
from xborder.storage.tables import nonces, scheduler_leases

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("XBORDER_STRESS_SEED") or 61126)  # read before clean_environ runs
LANES = 4
RACERS = 10  # threads per lane: the largest burst
BURSTS = 60  # per lane
REPLAYS = 40
MIN_WORKER_CPU = 0.5  # seconds of CPU each of the two busiest workers must have used


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_exactly_once_under_contention(backend: str, tmp_path: Path) -> None:
    signer = make_party(tmp_path / "keys", "stress")
    with database(backend, tmp_path, "stress") as db:
        register_mtf(db.engine, signer, MTF_PARTNERS)
        args = ("--workers", str(WORKERS))
        with running_server(
            tmp_path / "srv", database_url=db.url, env=SERVER_ENV, args=args
        ) as srv:
            run = load(srv, Driver(srv.base_url, signer, LANES * RACERS))
        found = verdict(db, srv, run)
    summary = describe(backend, run)
    print(summary)
    assert not any(found.values()), f"{summary}\n{report(found)}"


@dataclass(frozen=True)
class Run:
    """What the load recorded: every answer, the replays, the workers' CPU seconds."""

    world: World
    replays: list[Answer]
    cpu: dict[int, float]
    started: float
    ended: float

    def to_wall(self, occurred_at: datetime) -> float:
        """The wall-clock time of a server event (the controllable clock moved by whole
        CLOCK_STEPs, and the run is far shorter than one)."""
        business = occurred_at.timestamp()
        steps = round((business - (self.started + self.ended) / 2) / CLOCK_STEP)
        return business - steps * CLOCK_STEP


def load(server: ServerProcess, driver: Driver) -> Run:
    """Run every lane, then replay a sample of the signed requests."""
    world = World(driver)
    try:
        funding = world.fund(FUNDED, INITIAL_FUNDING)
        assert funding.status == 200, funding.brief()
        started = time.time()
        with ThreadPoolExecutor(LANES) as lanes:
            list(lanes.map(lambda lane: run_lane(world, lane), range(LANES)))
        ended = time.time()
        sample = random.Random(SEED).sample(driver.signed, min(REPLAYS, len(driver.signed)))
        replays = [driver.replay(request) for request in sample]
        cpu = worker_cpu_seconds(server.pid)
    finally:
        driver.close()
    return Run(world, replays, cpu, started, ended)


def run_lane(world: World, lane: int) -> None:
    rng = random.Random(f"{SEED}-{lane}")
    weights = [s.weight for s in SCENARIOS]
    with ThreadPoolExecutor(RACERS) as pool:
        for _ in range(BURSTS):
            scenario = rng.choices(SCENARIOS, weights)[0]
            race(pool, scenario.build(world, rng))


def race(pool: ThreadPoolExecutor, burst: list[Thunk]) -> None:
    """Release every request of ``burst`` at the same moment."""
    if not burst:
        return
    barrier = threading.Barrier(len(burst), timeout=TIMEOUT)

    def go(thunk: Thunk) -> Answer:
        barrier.wait()
        return thunk()

    list(pool.map(go, burst))


def verdict(db: Database, server: ServerProcess, run: Run) -> dict[str, list[str]]:
    """Problems found, by the check that found them."""
    snap, world = snapshot(db.engine), run.world
    moves = [a for a in world.global_ops if a.op == "clock"]
    clocks = checks.Clocks(run.to_wall, moves, timedelta(seconds=STAGE_DELAY))
    return {
        "stored state": sqlite_integrity(db.engine) + problems(snap),
        "answer shapes": list(checks.shape_problems(every_answer(world))),
        "answers vs state": [
            p for t in world.tracked for p in checks.tracked_problems(t, snap, clocks)
        ],
        "duplicate creates": [p for g in world.groups for p in checks.group_problems(g, snap)],
        "funding": list(checks.funding_problems(world, snap)),
        "other answers": list(checks.other_problems(world)),
        "nonces": nonce_problems(db, world, run.replays),
        "scheduler lease": lease_problems(db, run),
        "server": server_problems(server, run.cpu),
    }


def report(found: dict[str, list[str]], per_check: int = 15) -> str:
    """The problems of each check, the first few of each in full."""
    lines = []
    for check, items in found.items():
        if items:
            lines.append(f"--- {check}: {len(items)} problems")
            lines += items[:per_check]
    return "\n".join(lines)


def nonce_problems(db: Database, world: World, replays: list[Answer]) -> list[str]:
    """One stored nonce per signed request; every replay refused by whichever worker."""
    mine = nonces.c.consumer_key == CONSUMER_KEY
    query = sa.select(sa.func.count()).select_from(nonces).where(mine)
    with db.engine.connect() as connection:
        stored = connection.execute(query).scalar_one()
    found = []
    if stored != len(world.driver.signed):
        found.append(f"{stored} nonces stored for {len(world.driver.signed)} signed requests")
    for answer in replays:
        item = checks.error_item(answer) or {}
        if answer.status != 401 or item.get("ReasonCode") != "DECLINED":
            found.append(f"replayed signed request answered {answer.brief()}")
    return found


def lease_problems(db: Database, run: Run) -> list[str]:
    """One scheduler leader for the deployment: one lease row, held by one of the workers
    (its holder is ``host:pid:token``)."""
    with db.engine.connect() as connection:
        holders = connection.execute(sa.select(scheduler_leases.c.holder)).scalars().all()
    pids = {holder.split(":")[-2] for holder in holders}
    if len(holders) != 1 or not pids <= {str(pid) for pid in run.cpu}:
        return [f"scheduler leases {holders}, worker processes {sorted(run.cpu)}"]
    return []


def server_problems(server: ServerProcess, cpu: dict[int, float]) -> list[str]:
    found = []
    busiest = sorted(cpu.values(), reverse=True)[:WORKERS]
    if len(busiest) < WORKERS or min(busiest) < MIN_WORKER_CPU:
        found.append(f"the load did not reach {WORKERS} workers: CPU seconds {sorted(busiest)}")
    if "database is locked" in server.log_text():
        found.append("the server log mentions 'database is locked'")
    for record in server.log_records(strict=False):
        if record.get("level") in ("error", "critical"):
            found.append(f"server logged {record}")
    return found


def every_answer(world: World) -> list[Answer]:
    answers = [a for t in world.tracked for a in t.answers]
    answers += [a for g in world.groups for group in g.answers.values() for a in group]
    answers += [a for _, _, a in world.fundings] + world.global_ops + world.unknown
    return answers


def describe(backend: str, run: Run) -> str:
    world = run.world
    answers = every_answer(world)
    ops = Counter(a.op for a in answers)
    statuses = Counter(a.status for a in answers)
    seconds = run.ended - run.started
    return (
        f"stress[{backend}] XBORDER_STRESS_SEED={SEED}: {LANES} lanes x {RACERS} racers,"
        f" {BURSTS * LANES} bursts, {len(world.tracked) + len(world.groups)} payments"
        f" ({len(world.groups)} duplicate-create groups), {len(answers)} requests"
        f" in {seconds:.1f} s ({len(answers) / seconds:.0f}/s), {len(world.driver.signed)} signed,"
        f" {len(run.replays)} replays; ops {dict(sorted(ops.items()))};"
        f" statuses {dict(sorted(statuses.items()))}"
    )
