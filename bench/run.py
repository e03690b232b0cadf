"""xborder's benchmark (issue 7): signed requests over real HTTP, every figure a ratio to the
ceiling measured around it in the same run.

    python -m bench.run            # the whole matrix, under 10 minutes (make bench)
    python -m bench.run --quick    # the target runs only, shorter (about 3 minutes)
    python -m bench.run --only "cancel json,create"   # runs whose name holds those words
    xborder bench [same options]

For each run: a fresh copy of the store (``bench.store``), requests built and signed before the
timed phase (``bench.workload``; each nonce used once, each cancel a different pending
payment), ``xborder serve`` started on a free port of 127.0.0.1, one request checked by hand,
a short warm-up, then the measured phase (wrk, 2 threads, 32 connections) while the RSS of all
server processes is sampled. Just before and just after each run, the no-op ASGI app served by
the same server with the same workers (``bench.noop``) is driven with the same requests: the
mean of those two is the ceiling the run's ratio is taken against (ceiling, A, ceiling, B,
ceiling, ...), because this machine is shared and noisy. After a cancel run every server
process is killed with SIGKILL and the database must hold every cancel it acknowledged.

Writes ``bench/results/bench.md``, ``bench.json`` and ``bench.png`` (the chart needs
matplotlib: ``pip install matplotlib``).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bench import loadgen, report, store
from bench.servers import Server, exchange, kill_all, stop_on_signals
from bench.workload import (
    OPERATIONS,
    Client,
    Kind,
    make_client,
    payment_id,
    read_records,
    write_records,
)
from xborder.storage.engine import normalise_url

BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / ".work"
RESULTS = BENCH_DIR / "results"
WARM_RECORDS = 400
INITIAL_RATE = {"cancel": 700.0, "create": 500.0, "retrieve": 900.0}
ENC_FACTOR = 0.7
MAX_RECORDS = 40_000


@dataclass(frozen=True)
class Spec:
    """One real run: database, workers, what is sent, how many payments are stored."""

    db: str
    workers: int
    kind: Kind
    store: int
    sync: str = "NORMAL"

    @property
    def name(self) -> str:
        db = "sqlite-FULL" if self.sync == "FULL" else self.db
        return f"{db} {self.workers}w {self.kind.label} @{_count(self.store)}"

    @property
    def rate_key(self) -> str:
        return f"{self.kind.operation}{'-enc' if self.kind.encrypted else ''}"


@dataclass
class Result:
    """What one run measured, with the ceilings just before and just after it."""

    spec: Spec
    load: loadgen.Load
    ceilings: list[loadgen.Load]
    records: int
    server_cpu_us: float
    server_sys_share: float
    rss_start_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    durable: str
    notes: list[str] = field(default_factory=list)

    @property
    def ceiling_rps(self) -> float:
        return sum(c.rps for c in self.ceilings) / len(self.ceilings)

    @property
    def ratio(self) -> float:
        return self.load.rps / self.ceiling_rps if self.ceiling_rps else 0.0

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_end_mb - self.rss_start_mb


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def plan(args: argparse.Namespace) -> list[Spec]:
    """The matrix: every dimension covered, the target runs at each worker count."""
    small, big, pg = args.store, args.big_store, args.postgres
    workers = [int(w) for w in args.workers.split(",")]
    runs: list[Spec] = []
    for w in workers:
        last = w == workers[-1]
        runs.append(Spec("sqlite", w, Kind("cancel"), small))
        if big:
            runs.append(Spec("sqlite", w, Kind("cancel"), big))
        runs.append(Spec("sqlite", w, Kind("cancel", "json", True), small))
        runs.append(Spec("sqlite", w, Kind("create"), small))
        runs.append(Spec("sqlite", w, Kind("cancel"), small, sync="FULL"))
        if not args.quick:
            runs.append(Spec("sqlite", w, Kind("retrieve"), small))
        if pg and (last or not args.quick):
            runs.append(Spec("postgres", w, Kind("cancel"), small))
        if last and not args.quick:
            runs.append(Spec("sqlite", w, Kind("create", "json", True), small))
            runs.append(Spec("sqlite", w, Kind("retrieve", "json", True), small))
            runs += [Spec("sqlite", w, Kind(op, "xml"), small) for op in OPERATIONS]
            runs.append(Spec("sqlite", w, Kind("cancel", "xml", True), small))
            if pg:
                runs += [Spec("postgres", w, Kind(op), small) for op in ("create", "retrieve")]
                runs.append(Spec("postgres", w, Kind("cancel", "json", True), small))
                runs.append(Spec("postgres", w, Kind("create", "xml"), small))
    if args.only:  # "a b,c": the runs whose name holds a and b, and those holding c
        wanted = [alternative.split() for alternative in args.only.split(",")]
        runs = [r for r in runs if any(all(w in r.name for w in words) for words in wanted)]
    return runs


class Bench:
    """Runs the plan: stores, client, ceilings, one real run after another."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rates = dict(INITIAL_RATE)
        self.rng = random.Random(7)
        self.used: dict[int, set[int]] = {}  # big store -> payments cancelled already
        self.bases: dict[tuple[str, int], str] = {}
        self.ceilings: dict[int, Server] = {}
        self.started = time.monotonic()
        (WORK / "logs").mkdir(parents=True, exist_ok=True)
        self.data_dir = WORK / "data"
        server_cert = WORK / "server-encryption-cert.pem"
        store.export_server_certificate(self.data_dir, server_cert)
        self.client: Client = make_client(WORK / "client", server_cert)

    # --- stores -----------------------------------------------------------------------------

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
        base = self.base(spec.db, spec.store)
        if spec.db == "postgres":
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
        default = INITIAL_RATE[spec.kind.operation] * ENC_FACTOR
        rate = self.rates.get(spec.rate_key, default)
        return int(min(MAX_RECORDS, rate * self.args.duration * 1.3 + 300))

    def prepare(self, spec: Spec) -> tuple[str, list[int], dict[str, Path]]:
        """The run's database, its targets, and its signed record files."""
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
        started = time.monotonic()
        url, targets, files = self.prepare(spec)
        prepared = time.monotonic() - started
        before = self.measure_ceiling(spec.workers, files["measured"])
        server = self.server(spec, url)
        notes = [f"prepared in {prepared:.0f}s"]
        try:
            server.start()
            _smoke(server.port, files["smoke"], spec.kind)
            warm = self.drive(server.port, files["warm"], self.args.warmup)
            profiler = _profile(server, spec, self.args) if self.args.profile else None
            cpu0 = server.cpu_seconds()
            load = self.drive(server.port, files["measured"], self.args.duration)
            cpu1 = server.cpu_seconds()
            rss_end = server.rss_kib()
            if profiler is not None:
                profiler.wait(30)
            durable = "-"
            if spec.kind.operation == "cancel":
                server.kill()  # SIGKILL to every server process, then count what is stored
                acknowledged = 1 + warm.requests - warm.errors + load.requests - load.errors
                stored = _cancelled(url, [payment_id(i) for i in targets])
                durable = "yes" if stored >= acknowledged else f"NO ({stored}<{acknowledged})"
        finally:
            code = server.stop()
        if spec.kind.operation != "cancel" and code not in (0, None):
            notes.append(f"server exit code {code}")
        if load.exhausted:
            notes.append(f"records used up after {load.seconds:.1f}s")
        after = self.measure_ceiling(spec.workers, files["measured"])
        self.learn(spec, load)
        samples = [kib for _t, kib in server.samples] or [rss_end]
        user, system = (b - a for a, b in zip(cpu0, cpu1, strict=True))
        return Result(
            spec=spec,
            load=load,
            ceilings=[before, after],
            records=len(targets) - 1 - WARM_RECORDS,
            server_cpu_us=(user + system) * 1e6 / max(load.requests, 1),
            server_sys_share=system / max(user + system, 1e-9),
            rss_start_mb=samples[0] / 1024,
            rss_end_mb=rss_end / 1024,
            rss_peak_mb=max(samples) / 1024,
            durable=durable,
            notes=notes,
        )

    def server(self, spec: Spec, url: str) -> Server:
        env = {"XBORDER_SQLITE_SYNCHRONOUS": spec.sync}
        slug = spec.name.replace(" ", "_").replace("@", "")
        log = WORK / "logs" / f"{slug}.log"
        return Server("xborder", spec.workers, log, url, self.data_dir, env)

    def drive(self, port: int, records: Path, seconds: float, cycle: bool = False) -> loadgen.Load:
        args = self.args
        return loadgen.run(
            args.generator, port, records, seconds,
            connections=args.connections, threads=args.threads, cycle=cycle,
        )  # fmt: skip

    def measure_ceiling(self, workers: int, records: Path) -> loadgen.Load:
        """The no-op app with these workers, driven with the run's requests (cycling)."""
        if workers not in self.ceilings:
            server = Server("noop", workers, WORK / "logs" / f"noop-{workers}w.log")
            server.start()
            self.ceilings[workers] = server
            self.drive(server.port, records, 1, cycle=True)  # warm-up, once
        return self.drive(self.ceilings[workers].port, records, self.args.ceiling, cycle=True)

    def learn(self, spec: Spec, load: loadgen.Load) -> None:
        """The next run of this operation signs about as many requests as this one took."""
        if load.rps:
            self.rates[spec.rate_key] = load.rps * (1.6 if load.exhausted else 1.15)

    def close(self) -> None:
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


def _checkpoint(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


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
    target = Path(args.profile) / (spec.name.replace(" ", "_").replace("@", "") + ".txt")
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
    add("--quick", action="store_true", help="the target runs only, shorter")
    add("--only", help='runs whose name holds all these words; "," separates alternatives')
    add("--store", type=int, default=10_000, help="payments stored (10000)")
    add("--big-store", type=int, default=1_000_000, help="the growth runs' store (0: none)")
    add("--workers", default="1,2", help="worker counts (1,2)")
    add("--duration", type=int, help="measured seconds per run (5; quick 3)")
    add("--warmup", type=int, default=1, help="warm-up seconds per run (1)")
    add("--ceiling", type=int, help="seconds of each ceiling measurement (2; quick 1)")
    add("--connections", type=int, default=32)
    add("--threads", type=int, default=2, help="generator threads (2)")
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
    args.ceiling = args.ceiling or (1 if args.quick else 2)
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
    if args.postgres and (reason := store.postgres_reachable(args.postgres_url)):
        print(f"PostgreSQL runs skipped: {reason}", file=sys.stderr)
        args.postgres = False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    _choose_generator(args)
    specs = plan(args)
    bench = Bench(args)
    bench.log(f"{len(specs)} runs, each between two ceilings; generator {args.generator}")
    results: list[Result] = []
    skipped: list[str] = []
    per_run = args.duration + args.warmup + 2 * args.ceiling + 8
    try:
        for spec in specs:
            if time.monotonic() - bench.started + per_run > args.budget:
                skipped.append(f"{spec.name} (time budget)")
                continue
            try:
                results.append(bench.run(spec))
            except Exception as exc:  # noqa: BLE001 - one broken run must not stop the others
                bench.log(f"{spec.name}: FAILED {exc}")
                skipped.append(f"{spec.name} (failed: {str(exc)[:200]})")
                continue
            bench.log(report.line(results[-1]))
    finally:
        bench.close()
        kill_all()
    meta = report.metadata(args, time.monotonic() - bench.started, skipped)
    written = report.write(results, meta, Path(args.output))
    print("\n" + written[0].read_text())
    print("written: " + ", ".join(str(p) for p in written))
    return 0 if results and not any("failed" in s for s in skipped) else 1


if __name__ == "__main__":
    sys.exit(main())
