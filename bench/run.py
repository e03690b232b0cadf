"""xborder's benchmark (issues 7 and 12): the targets of issue 12 over real HTTP, every figure
a ratio to the ceiling measured around it in the same run.

    python -m bench.run            # every target run, under 10 minutes (make bench)
    python -m bench.run --quick    # every target, shorter runs, fewer extras (~3 minutes)
    python -m bench.run --only "unsigned cancel,create"   # runs whose name holds those words
    python -m bench.run --only standins   # only the stand-ins against their libraries (seconds)

The load is issue 12's: ``wrk -t1 -c32`` (``--threads`` changes -t). For each run: a fresh
copy of the store (``bench.store``), requests built before the timed phase
(``bench.workload``: unsigned, pre-signed with Mastercard's own signer, or, for the
``eu-signed`` run, each with a fresh OAuth 2.0 request token of an eu project, D23; each
cancel a different pending payment), ``xborder serve`` started on a free port of 127.0.0.1 (with
``XBORDER_AUTH=off`` for the unsigned runs; the scheduler and the push sender on), one
request checked by hand, a short warm-up, then the measured phase while the RSS of every
server process is sampled. Just before and just after each run, the no-op ASGI app served by
the same server with the same workers (``bench.noop``) is driven with the same requests: the
mean of those two is the ceiling the run's ratio is taken against (ceiling, A, ceiling, B,
ceiling, ...), because this machine is shared and noisy. Throughput counts only answers with
a success status. After a cancel or create run every server process is killed with SIGKILL;
the database must then hold every change it acknowledged, and a random sample of the cancels
it acknowledged (its access log) must read CANCELLED.

Right after the 1-worker unsigned cancel run comes the same run with the request journal off
(``XBORDER_JOURNAL=off``: issue 14 allows the journal at most 5 % of the targets), and the
pair again (``--journal-pairs``, 3; the journal's cost is the gap between the medians of the
two sides, so one noisy run does not decide it), then the frontier (``bench.frontier``: a raw
ASGI app doing the same cancels on a copy of the same store with group commit and nothing
else, served the same way; the most any implementation reaches here), then
WireMock's static stub of the cancel call
(``bench.wiremock``) is driven with the same wrk settings and the same kind of requests.

After the HTTP runs, ``bench.standins`` times each hand-written stand-in for a maintained
library against that library, in process, and weighs the saving against the server CPU per
request the runs measured (issue 16).

Writes ``bench/results/bench.md``, ``bench.json`` and ``bench.png`` (the chart needs
matplotlib: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import loadgen, report, standins, store, wiremock
from bench.frontier import CERTIFICATE_ENV
from bench.model import Load, Result, Spec
from bench.servers import HOST, Server, exchange, kill_all, stop_on_signals
from bench.workload import Client, Kind, make_client, payment_id, read_records, write_records
from xborder.config import Settings
from xborder.services.scheduler import LEASE
from xborder.storage.engine import normalise_url
from xborder.storage.tables import scheduler_leases

BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / ".work"
RESULTS = BENCH_DIR / "results"
WARM_RECORDS = 400
INITIAL_RATE = {"cancel": 2500.0, "create": 2000.0, "retrieve": 3000.0}  # signed, req/s
UNSIGNED_FACTOR = 3.0  # unsigned records cost nothing to build: build plenty
ENC_FACTOR = 0.7
FRONTIER_FACTOR = 3.0  # the frontier serves two to four times xborder's rate: records for it
MAX_RECORDS = 60_000
SAMPLE = 200  # answered cancels read back from the database after each cancel run
WIREMOCK_RECORDS = 5_000  # the stub keeps no state: its records cycle


@dataclass
class Stub:
    """WireMock, running: its server, its records, how its jar was found, its warm-ups."""

    server: Server
    records: Path
    found: str
    warmed: list[str] = field(default_factory=list)


def _words(name: str) -> set[str]:
    """The words of a run's name, for ``--only`` ("json," is "json")."""
    return set(name.replace(",", " ").split())


def _slug(spec: Spec) -> str:
    """The run's name as a file name."""
    return spec.name.replace(" ", "_").replace("@", "").replace(",", "")


def plan(args: argparse.Namespace) -> list[Spec]:
    """Issue 12's target runs, in this order: the unsigned cancel at the first worker count,
    the same with the request journal off right after it (issue 14: what the journal costs),
    the frontier's cancel on the same store (``bench.frontier``: the most any implementation
    could reach here; its signed cancel, create, retrieve and PostgreSQL cancel follow
    xborder's runs of the same kind), WireMock's stub, the unsigned cancel at the other
    worker counts; the cancel pre-signed with Mastercard's signer, and at the first worker
    count the same cancel by the eu project with request tokens (D23: their verify cost
    beside OAuth 1.0a's); unsigned create (sandbox) and retrieve; PostgreSQL cancel at the
    last worker count; the cancels on the big store (RSS per worker after 1M payments) last,
    after all the others."""
    small, big, pg = args.store, args.big_store, args.postgres
    workers = [int(w) for w in args.workers.split(",")]
    most = workers[-1]
    unsigned = Kind("cancel", signed=False)
    runs: list[Spec] = []
    for w in workers:
        runs.append(Spec("sqlite", w, unsigned, small))
        if w == workers[0]:
            runs.append(Spec("sqlite", w, unsigned, small, journal=False))
            for again in range(2, args.journal_pairs + 1):
                runs.append(Spec("sqlite", w, unsigned, small, repeat=again))
                runs.append(Spec("sqlite", w, unsigned, small, journal=False, repeat=again))
            runs.append(Spec("frontier", w, unsigned, small))
        if w == workers[0] and args.wiremock:
            runs.append(Spec("wiremock", max(workers), unsigned, 0))
    for w in workers:
        runs.append(Spec("sqlite", w, Kind("cancel"), small))
        if w == workers[0]:
            runs.append(Spec("sqlite", w, Kind("cancel", region="eu"), small))
            runs.append(Spec("frontier", w, Kind("cancel"), small))
    runs += [Spec("sqlite", w, Kind("create", signed=False), small) for w in workers]
    runs.append(Spec("frontier", workers[0], Kind("create", signed=False), small))
    runs += [Spec("sqlite", w, Kind("retrieve", signed=False), small) for w in workers]
    runs.append(Spec("frontier", workers[0], Kind("retrieve", signed=False), small))
    if pg:
        runs.append(Spec("postgres", most, unsigned, small))
        runs.append(Spec("frontier-postgres", most, unsigned, small))
        if not args.quick:
            runs.append(Spec("postgres", most, Kind("cancel"), small))
    if big:
        runs += [Spec("sqlite", w, unsigned, big) for w in (workers if not args.quick else [most])]
    if not args.quick:  # not a target of issue 12: last, when the time budget allows
        runs.append(Spec("sqlite", workers[0], Kind("cancel", "json", True), small))
    if args.only:  # "a b,c": the runs whose name has the words a and b, and those with c
        wanted = [alternative.split() for alternative in args.only.split(",")]
        runs = [r for r in runs if any(set(ws) <= _words(r.name) for ws in wanted)]
    return runs


class Bench:
    """Runs the plan: stores, client, ceilings, one run after another."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rates: dict[str, float] = {}  # rate_key -> req/s to build requests for
        self.rng = random.Random(7)
        self.used: dict[int, set[int]] = {}  # big store -> payments cancelled already
        self.bases: dict[tuple[str, int], str] = {}
        self.ceilings: dict[int, Server] = {}
        self.notes: list[str] = []  # for the report's header
        self.stub: Stub | None = None  # WireMock, started early to warm up
        self.stub_error: Exception | None = None
        self.started = time.monotonic()
        (WORK / "logs").mkdir(parents=True, exist_ok=True)
        self.data_dir = WORK / "data"
        server_cert = WORK / "server-encryption-cert.pem"
        store.export_server_certificate(self.data_dir, server_cert)
        self.client: Client = make_client(WORK / "client", server_cert)

    # --- stores -----------------------------------------------------------------------------

    def prepare_stores(self, specs: list[Spec]) -> None:
        """Load (or take from the cache) every store the plan needs, before the first run, so
        the time budget sees what the runs themselves take (1,000,000 payments take 35-45 s to
        load the first time)."""
        for db, size in dict.fromkeys((_store_db(s), s.store) for s in specs if _store_db(s)):
            try:
                self.base(db, size)
            except Exception as exc:  # noqa: BLE001 - the runs on this store will fail alone
                self.log(f"  store: {db} {size:,} could not be prepared: {exc}")

    def base(self, db: str, size: int) -> str:
        """A working copy of the store with the bench project registered, once per call of
        the benchmark: a file path for SQLite, a database name for PostgreSQL."""
        if (db, size) not in self.bases:
            if db == "sqlite":
                path = WORK / f"base-{size}.db"
                url = store.sqlite_copy(store.sqlite_store(size, log=self.log), path)
                store.register_project(self.client, url, self.data_dir)
                _checkpoint(path)
                self.bases[(db, size)] = str(path)
            else:
                template = store.postgres_store(self.args.postgres_url, size, log=self.log)
                name = f"xbench_base_{size}"
                url = store.clone_database(self.args.postgres_url, template, name)
                store.register_project(self.client, url, self.data_dir)
                self.bases[(db, size)] = name
        return self.bases[(db, size)]

    def database_for(self, spec: Spec) -> str:
        """The run's database URL: a fresh copy of the base, except for the big store, whose
        runs share one copy and cancel disjoint sets of payments."""
        base = self.base(_store_db(spec), spec.store)
        if _store_db(spec) == "postgres":
            return store.clone_database(self.args.postgres_url, base, "xbench_run")
        if spec.store > self.args.store:
            return f"sqlite:///{base}"
        return store.sqlite_copy(Path(base), WORK / "run.db")

    def targets(self, spec: Spec, count: int) -> list[int]:
        """Store indexes: pending payments nothing touched yet (cancel), random stored
        payments (retrieve), or sequence numbers (create)."""
        if spec.kind.operation == "create":
            return list(range(count))
        if spec.kind.operation == "retrieve":
            return [self.rng.randrange(1, spec.store) for _ in range(count)]
        shared = spec.store > self.args.store
        used = self.used.setdefault(spec.store, set()) if shared else set()
        count = min(count, spec.store - 1 - len(used))
        chosen: set[int] = set()
        while len(chosen) < count:  # a random spread, so a big store is read all over
            i = self.rng.randrange(1, spec.store)
            if i not in used:
                chosen.add(i)
        used.update(chosen)
        ordered = sorted(chosen)
        self.rng.shuffle(ordered)
        return ordered

    def record_budget(self, spec: Spec) -> int:
        factor = ENC_FACTOR if spec.kind.encrypted else 1.0
        factor *= 1.0 if spec.kind.signed else UNSIGNED_FACTOR
        factor *= FRONTIER_FACTOR if spec.frontier else 1.0
        rate = self.rates.get(spec.rate_key, INITIAL_RATE[spec.kind.operation] * factor)
        return int(min(MAX_RECORDS, rate * self.args.duration * 1.3 + 300))

    def prepare(self, spec: Spec) -> tuple[str, list[int], dict[str, Path]]:
        """The run's database, its targets, and its record files."""
        url = self.database_for(spec)
        targets = self.targets(spec, 1 + WARM_RECORDS + self.record_budget(spec))
        parts = {
            "smoke": targets[:1],
            "warm": targets[1 : 1 + WARM_RECORDS],
            "measured": targets[1 + WARM_RECORDS :],
        }
        files = {}
        for label, chosen in parts.items():
            files[label] = WORK / f"{label}.records"
            write_records(files[label], self.client, spec.kind, chosen)
        return url, targets, files

    # --- runs -------------------------------------------------------------------------------

    def run(self, spec: Spec) -> Result:
        if spec.db == "wiremock":
            return self.run_wiremock(spec)
        started = time.monotonic()
        url, targets, files = self.prepare(spec)
        prepared = time.monotonic() - started
        before = self.measure_ceiling(spec.workers, files["measured"])
        server = self.server(spec, url)
        notes = [f"prepared in {prepared:.0f}s"]
        durable = sampled = "-"
        try:
            server.start()
            _smoke(server.port, files["smoke"], spec.kind)
            warm = self.drive(server.port, files["warm"], self.args.warmup)
            profiler = _profile(server, spec, self.args) if self.args.profile else None
            cpu0 = server.cpu_seconds()
            measured_from = datetime.now(UTC)
            load = self.drive(server.port, files["measured"], self.args.duration)
            cpu1 = server.cpu_seconds()
            rss_end = server.rss_kib()
            workers_kib = server.worker_rss_kib()
            if profiler is not None:
                profiler.wait(30)
            if spec.kind.operation in ("cancel", "create"):
                server.kill()  # SIGKILL to every server process, then read what is stored
                durable, sampled = self.check_stored(spec, url, server, targets, warm, load)
        finally:
            code = server.stop()
        ticked = None if spec.frontier else _scheduler_ticked(url, measured_from)
        if ticked is False:
            notes.append("the scheduler did not renew its lease during the run")
        if spec.kind.operation == "retrieve" and code not in (0, None) and spec.db == "sqlite":
            notes.append(f"server exit code {code}")
        if load.exhausted:
            notes.append(f"records used up after {load.seconds:.1f}s")
        if warm.errors:
            notes.append(f"warm-up: {warm.non2xx} non-2xx, {warm.errors - warm.non2xx} errors")
        after = self.measure_ceiling(spec.workers, files["measured"])
        self.learn(spec, load)
        return _result(spec, load, [before, after], server, (cpu0, cpu1), rss_end, workers_kib,
                       records=len(targets) - 1 - WARM_RECORDS, durable=durable, sampled=sampled,
                       warm_errors=warm.errors, scheduler_ticked=ticked, notes=notes)  # fmt: skip

    def check_stored(
        self,
        spec: Spec,
        url: str,
        server: Server,
        targets: list[int],
        warm: Load,
        load: Load,
    ) -> tuple[str, str]:
        """After the SIGKILL: the database holds at least as many changes as were answered with
        success (durable), and a random sample of the cancels the server acknowledged reads
        CANCELLED. The acknowledged ids come from the server's access log (on by default: one
        line per answer, written after the commit), because wrk cannot say which of its
        requests were answered: up to 32 were still in flight when it stopped, not
        necessarily the last ones sent."""
        acknowledged = 1 + warm.ok + load.ok
        if spec.kind.operation == "create":
            stored = _count_rows(url) - spec.store
            return ("yes" if stored >= acknowledged else f"NO ({stored}<{acknowledged})"), "-"
        stored = _cancelled(url, [payment_id(i) for i in targets])
        durable = "yes" if stored >= acknowledged else f"NO ({stored}<{acknowledged})"
        if spec.frontier:  # no access log to sample: the count alone
            return durable, "-"
        logged = _acknowledged_cancels(server.log_path)
        if not logged:
            return durable, "no access log: not sampled"
        sample = self.rng.sample(logged, min(SAMPLE, len(logged)))
        statuses = _statuses(url, sample)
        wrong = {i: statuses.get(i, "absent") for i in sample if statuses.get(i) != "CANCELLED"}
        if not wrong:
            return durable, f"all {len(sample)}/{len(sample)} CANCELLED"
        shown = ", ".join(f"{i} {status}" for i, status in list(wrong.items())[:3])
        return durable, f"ONLY {len(sample) - len(wrong)}/{len(sample)} CANCELLED ({shown})"

    def start_wiremock(self, spec: Spec) -> threading.Thread | None:
        """Start WireMock and warm its JVM up on a thread while the stores load: its JIT needs
        tens of thousands of requests before WireMock runs at full speed, and loading a store
        keeps only one core busy. The caller joins the thread before the first run."""
        try:
            self.stub = self.launch_wiremock(spec)
        except (wiremock.Unavailable, RuntimeError, OSError) as exc:
            self.stub_error = exc
            return None
        stub = self.stub
        self.log(f"  wiremock: {stub.found}; warming its JVM up while the stores load")

        def warm() -> None:
            stub.warmed.append(self.warm_jvm(stub.server.port, stub.records, 4))

        thread = threading.Thread(target=warm, name="wiremock-warm-up", daemon=True)
        thread.start()
        return thread

    def launch_wiremock(self, spec: Spec) -> Stub:
        jar, found = wiremock.ensure_jar(self.log)
        records, smoke = WORK / "wiremock.records", WORK / "wiremock-smoke.records"
        write_records(records, self.client, spec.kind, range(1, WIREMOCK_RECORDS))
        write_records(smoke, self.client, spec.kind, [0])
        server = Server("wiremock", 1, WORK / "logs" / "wiremock.log")
        server.command = wiremock.argv(jar, wiremock.write_root(WORK / "wiremock-root"), HOST,
                                       server.port)  # fmt: skip
        try:
            server.start()
            _smoke(server.port, smoke, spec.kind)
        except Exception:
            server.stop()
            raise
        return Stub(server, records, found)

    def run_wiremock(self, spec: Spec) -> Result:
        """WireMock's static stub, driven like the xborder run beside it (cycling records: it
        keeps no state), after its JVM warm-up (started early by :meth:`start_wiremock`, and
        confirmed here: two more level rounds)."""
        if self.stub_error is not None:
            raise self.stub_error
        if self.stub is None:
            self.stub = self.launch_wiremock(spec)
        stub, server = self.stub, self.stub.server
        before = self.measure_ceiling(spec.workers, stub.records)
        try:
            stub.warmed.append(self.warm_jvm(server.port, stub.records, 2 if stub.warmed else 4))
            cpu0 = server.cpu_seconds()
            load = self.drive(server.port, stub.records, self.args.duration, cycle=True)
            cpu1 = server.cpu_seconds()
            rss_end, workers_kib = server.rss_kib(), server.worker_rss_kib()
        finally:
            server.stop()
            self.stub = None
        after = self.measure_ceiling(spec.workers, stub.records)
        notes = [stub.found, *stub.warmed, f"ceiling: no-op with {spec.workers} workers"]
        return _result(spec, load, [before, after], server, (cpu0, cpu1), rss_end, workers_kib,
                       records=WIREMOCK_RECORDS, durable="-", sampled="-", notes=notes)  # fmt: skip

    def warm_jvm(self, port: int, records: Path, least: int) -> str:
        """Load in rounds of 2 s, at least ``least``, until three rounds in a row are level
        (each within 10 % of the one before: the JIT has compiled the hot path; the rounds'
        rates are in the run's notes), or ``--wiremock-warmup`` seconds have passed."""
        rounds: list[float] = []

        def level(a: float, b: float) -> bool:
            return abs(b - a) <= 0.1 * a

        while 2 * len(rounds) < self.args.wiremock_warmup:
            rounds.append(self.drive(port, records, 2, cycle=True).rps)
            if len(rounds) >= max(least, 3) and level(*rounds[-3:-1]) and level(*rounds[-2:]):
                break
        shown = ", ".join(f"{rps:.0f}" for rps in rounds)
        return f"JVM warm-up {2 * len(rounds)}s (req/s per 2 s: {shown})"

    def server(self, spec: Spec, url: str) -> Server:
        log = WORK / "logs" / f"{_slug(spec)}.log"
        if spec.frontier:
            env = {CERTIFICATE_ENV: str(self.client.signing_cert)}
            return Server("frontier", spec.workers, log, url, env=env)
        env = server_environment(spec.kind.signed, journal=spec.journal)
        return Server("xborder", spec.workers, log, url, self.data_dir, env)

    def drive(self, port: int, records: Path, seconds: float, cycle: bool = False) -> Load:
        args = self.args
        return loadgen.run(
            args.generator, port, records, seconds,
            connections=args.connections, threads=args.threads, cycle=cycle,
        )  # fmt: skip

    def measure_ceiling(self, workers: int, records: Path) -> Load:
        """The no-op app with these workers, driven with the run's requests (cycling)."""
        if workers not in self.ceilings:
            server = Server("noop", workers, WORK / "logs" / f"noop-{workers}w.log")
            server.start()
            self.ceilings[workers] = server
            self.drive(server.port, records, 1, cycle=True)  # warm-up, once
        return self.drive(self.ceilings[workers].port, records, self.args.ceiling, cycle=True)

    def learn(self, spec: Spec, load: Load) -> None:
        """The next run of this kind builds about as many requests as this one took."""
        if load.rps:
            self.rates[spec.rate_key] = load.rps * (1.6 if load.exhausted else 1.15)

    def drop_stub(self) -> None:
        if self.stub is not None:
            self.stub.server.stop()
            self.stub = None

    def close(self) -> None:
        self.drop_stub()
        for server in self.ceilings.values():
            server.stop()
        for copy in (*WORK.glob("base-*.db*"), *WORK.glob("run.db*")):
            copy.unlink()  # working copies (1.2 GB for the big store); the caches stay
        if self.args.postgres:
            names = ["xbench_run", *(n for (db, _), n in self.bases.items() if db == "postgres")]
            for name in names:
                try:
                    store.drop_database(self.args.postgres_url, name)
                except sa.exc.SQLAlchemyError as exc:
                    self.log(f"could not drop {name}: {exc}")

    def log(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:5.0f}s] {message}", flush=True)


def server_environment(signed: bool, *, journal: bool = True) -> dict[str, str]:
    """The server's settings: the defaults, with the scheduler and the push sender on (said
    explicitly: issue 12's p99 is taken with both running), authentication off for the
    unsigned runs (D11: unsigned requests then reach sandbox partners), and the request
    journal off when the run says so (``XBORDER_JOURNAL=off``, issue 14)."""
    env = {"XBORDER_SCHEDULER": "on", "XBORDER_WEBHOOKS": "on"}
    if not signed:
        env["XBORDER_AUTH"] = "off"
    if not journal:
        env["XBORDER_JOURNAL"] = "off"
    settings = Settings.from_env(env)
    intended = settings.auth == signed and settings.journal == journal
    if not (settings.scheduler and settings.webhooks and intended):
        raise RuntimeError(f"the server would not run as intended: {settings}")
    return env


def _result(
    spec: Spec,
    load: Load,
    ceilings: list[Load],
    server: Server,
    cpu: tuple[tuple[float, float], tuple[float, float]],
    rss_end: int,
    workers_kib: list[int],
    **rest: Any,
) -> Result:
    samples = [kib for _t, kib in server.samples] or [rss_end]
    user, system = (b - a for a, b in zip(*cpu, strict=True))
    return Result(
        spec=spec,
        load=load,
        ceilings=ceilings,
        server_cpu_us=(user + system) * 1e6 / max(load.requests, 1),
        server_sys_share=system / max(user + system, 1e-9),
        rss_start_mb=samples[0] / 1024,
        rss_end_mb=rss_end / 1024,
        rss_peak_mb=max(samples) / 1024,
        rss_workers_mb=[kib / 1024 for kib in workers_kib],
        **rest,
    )


def _store_db(spec: Spec) -> str | None:
    """The database whose store the run reads (the frontier's: SQLite's, or PostgreSQL's);
    WireMock none."""
    return {"frontier": "sqlite", "frontier-postgres": "postgres", "wiremock": None}.get(
        spec.db, spec.db
    )


def _checkpoint(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _scheduler_ticked(url: str, since: datetime) -> bool:
    """Whether the lifecycle scheduler (D17) renewed its lease after ``since``: it takes or
    renews the lease at every tick (until ``now + ttl``, ttl = max(5 s, 3 ticks):
    ``SchedulerThread``), so it was running during the measured phase."""
    ttl = timedelta(seconds=max(5.0, 3 * Settings().scheduler_interval))
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(scheduler_leases.c.expires_at).where(scheduler_leases.c.name == LEASE)
            ).first()
    finally:
        engine.dispose()
    return row is not None and row.expires_at - ttl >= since


def _count_rows(url: str) -> int:
    """How many payments the database holds."""
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM payments")).scalar_one())
    finally:
        engine.dispose()


def _statuses(url: str, ids: list[str]) -> dict[str, str]:
    """The status of each of these payments the database holds."""
    engine = sa.create_engine(normalise_url(url))
    query = sa.text("SELECT id, status FROM payments WHERE id IN :ids")
    query = query.bindparams(sa.bindparam("ids", expanding=True))
    try:
        with engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query, {"ids": ids})}
    finally:
        engine.dispose()


def _acknowledged_cancels(log: Path) -> list[str]:
    """The payments whose cancel the server answered with 200, from its access log (JSON
    lines; those still in the log writer's batch at the SIGKILL are lost, which only makes the
    list shorter)."""
    ids = []
    for text in log.read_text(errors="replace").splitlines():
        if '"xborder.access"' not in text or "/cancel" not in text:
            continue
        with contextlib.suppress(ValueError):
            line = json.loads(text)
            if line.get("status") == 200 and line.get("method") == "POST":
                ids.append(str(line["path"]).rsplit("/", 2)[-2])
    return ids


def _cancelled(url: str, ids: list[str]) -> int:
    """How many of these payments the database holds as CANCELLED."""
    engine = sa.create_engine(normalise_url(url))
    query = sa.text("SELECT count(*) FROM payments WHERE status = 'CANCELLED' AND id IN :ids")
    query = query.bindparams(sa.bindparam("ids", expanding=True))
    try:
        with engine.connect() as connection:
            return sum(
                int(connection.execute(query, {"ids": ids[i : i + 500]}).scalar_one())
                for i in range(0, len(ids), 500)
            )
    finally:
        engine.dispose()


def _profile(server: Server, spec: Spec, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy``) on every server process for the measured phase,
    sampling the thread that holds the GIL; the collapsed stacks go to
    ``<profile dir>/<run>.txt`` (summarise with ``python -m bench.profile``)."""
    assert server.process is not None
    target = Path(args.profile) / f"{_slug(spec)}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.process.pid),
        "--subprocesses", "--rate", "250", "--format", "raw", "--nonblocking", "--gil",
        "--duration", str(args.duration), "--output", str(target),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _smoke(port: int, records: Path, kind: Kind) -> None:
    """One request of the run's kind, by hand: it must succeed, with the expected document."""
    (raw,) = read_records(records)
    status, body = exchange(port, raw)
    expected = {"cancel": b"cancelpayment", "create": b"payment", "retrieve": b"payment"}
    marker = b"encrypted_payload" if kind.encrypted else expected[kind.operation]
    if status != 200 or marker not in body:
        raise RuntimeError(f"smoke request for {kind.label} failed: {status} {body[:300]!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true",
        help="shorter runs; no signed PostgreSQL or encrypted run, the big store at the last "
             "worker count only")  # fmt: skip
    add(
        "--only",
        help='runs whose name holds all these words; "," separates alternatives; '
        '"standins" names the stand-ins\' in-process timing (bench/standins.py)',
    )
    add("--store", type=int, default=100_000, help="payments stored (100000)")
    add("--big-store", type=int, default=1_000_000,
        help="the store of the RSS runs (1000000; 0: none)")  # fmt: skip
    add("--workers", default="1,2", help="worker counts (1,2); PostgreSQL runs at the last")
    add("--duration", type=int, help="measured seconds per run (5; quick 3)")
    add("--warmup", type=int, default=1, help="warm-up seconds per run (1)")
    add("--ceiling", type=int, help="seconds of each ceiling measurement (2; quick 1)")
    add("--journal-pairs", type=int,
        help="1-worker unsigned cancel runs with the journal on and off (3; quick 2)")  # fmt: skip
    add("--connections", type=int, default=32, help="wrk -c (32, issue 12)")
    add("--threads", type=int, default=1, help="wrk -t (1, issue 12)")
    add(
        "--no-wiremock",
        dest="wiremock",
        action="store_false",
        help="skip WireMock's static stub (otherwise installed with npm when missing)",
    )
    add("--wiremock-warmup", type=int,
        help="at most this many seconds of JVM warm-up (20; quick 12)")  # fmt: skip
    add("--generator", choices=("auto", "wrk", "python"), default="auto",
        help="wrk when installed (auto), else the Python fallback")  # fmt: skip
    add("--postgres-url",
        default=os.environ.get("XBORDER_BENCH_POSTGRES_URL", store.DEFAULT_POSTGRES),
        help="admin URL of the PostgreSQL server [env: XBORDER_BENCH_POSTGRES_URL]")  # fmt: skip
    add("--no-postgres", dest="postgres", action="store_false")
    add("--profile", help="directory for py-spy profiles of the measured phases")
    add("--budget", type=float, default=480, help="seconds; later runs are skipped (480)")
    add("--output", default=str(RESULTS / "bench"), help="results path stem")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 5)
    args.journal_pairs = args.journal_pairs or (2 if args.quick else 3)
    args.ceiling = args.ceiling or (1 if args.quick else 2)
    args.wiremock_warmup = args.wiremock_warmup or (12 if args.quick else 20)
    return args


def _choose_generator(args: argparse.Namespace) -> None:
    if args.generator == "auto":
        args.generator = "wrk" if loadgen.wrk_available() else "python"
    if args.generator == "python":
        print(
            "WARNING: using the Python load generator (wrk: apt-get install -y wrk), which"
            " takes CPU from the server on this machine; see bench/loadgen.py",
            file=sys.stderr,
        )
    args.postgres_note = None
    if args.postgres and (reason := store.postgres_reachable(args.postgres_url)):
        args.postgres_note = f"PostgreSQL runs skipped: {reason}"
        print(args.postgres_note, file=sys.stderr)
        args.postgres = False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    specs = plan(args)
    started = time.monotonic()
    results, skipped, notes = run_plan(args, specs) if specs else ([], [], [])
    table = None
    if wants_standins(args):
        try:
            table = measure_standins(args, results)
        except Exception as exc:  # noqa: BLE001 - the HTTP runs' results are still written
            skipped.append(f"stand-ins (failed: {str(exc)[:200]})")
    meta = report.metadata(args, time.monotonic() - started, skipped, notes)
    written = report.write(results, meta, Path(args.output), table)
    print("\n" + written[0].read_text())
    print("written: " + ", ".join(str(p) for p in written))
    ran = bool(results) or table is not None
    return 0 if ran and not any("failed" in s for s in skipped) else 1


def run_plan(
    args: argparse.Namespace, specs: list[Spec]
) -> tuple[list[Result], list[str], list[str]]:
    """The HTTP runs, one after another: their results, what was skipped, and notes."""
    _choose_generator(args)
    bench = Bench(args)
    if args.postgres_note:
        bench.notes.append(args.postgres_note)
    bench.log(f"{len(specs)} runs, each between two ceilings; generator {args.generator}")
    results: list[Result] = []
    skipped: list[str] = []
    per_run = args.duration + args.warmup + 2 * args.ceiling + 8
    try:
        stub = next((s for s in specs if s.db == "wiremock"), None)
        warming = bench.start_wiremock(stub) if stub else None
        bench.prepare_stores(specs)
        if warming is not None:
            warming.join()  # before the first run: nothing may load the machine during one
        for spec in specs:
            extra = args.wiremock_warmup if spec.db == "wiremock" else 0  # confirming rounds
            if time.monotonic() - bench.started + per_run + extra > args.budget:
                skipped.append(f"{spec.name} (time budget)")
                if spec.db == "wiremock":
                    bench.drop_stub()
                continue
            try:
                results.append(bench.run(spec))
            except wiremock.Unavailable as exc:
                bench.log(f"{spec.name}: skipped, {exc}")
                skipped.append(f"{spec.name} (skipped: {str(exc)[:200]})")
                continue
            except Exception as exc:  # noqa: BLE001 - one broken run must not stop the others
                bench.log(f"{spec.name}: FAILED {exc}")
                skipped.append(f"{spec.name} (failed: {str(exc)[:200]})")
                continue
            bench.log(report.line(results[-1]))
    finally:
        bench.close()
        kill_all()
    return results, skipped, bench.notes


def wants_standins(args: argparse.Namespace) -> bool:
    """The stand-ins run with every full run, and with ``--only`` when it names them."""
    return not args.only or any(
        alternative.split() == ["standins"] for alternative in args.only.split(",")
    )


def measure_standins(args: argparse.Namespace, results: list[Result]) -> standins.Table:
    """Issue 16's stand-ins, in process, after the HTTP runs (no server of the bench is left
    running). Each saving is a share of its request kind's server CPU from this run's results,
    or, for a kind this call did not run, from the results file it is about to replace (or
    else the committed one)."""
    previous = [Path(args.output).with_suffix(".json"), RESULTS / "bench.json"]
    found = next((path for path in previous if path.exists()), None)
    fallback = json.loads(found.read_text()) if found else {}
    print("stand-ins: each timed against its library, in process", flush=True)
    return standins.measure(report.runs_raw(results), "this run", fallback)


if __name__ == "__main__":
    sys.exit(main())
