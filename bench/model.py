"""What the benchmark measures: one load generator's run (:class:`Load`), one run of the plan
(:class:`Spec`) and what that run measured (:class:`Result`).

They live here, apart from the code that makes them, because several modules share them:
both load generators return a :class:`Load` (``loadgen`` drives wrk and chooses the Python
fallback of ``pyload``), ``run`` builds the :class:`Result` of each run and ``report`` lays them
out; none of those needs another for its types, so ``bench/`` has no import cycle (checked by
the import-linter contract in pyproject.toml).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.workload import Kind


@dataclass
class Load:
    """What one load run measured (latencies in milliseconds)."""

    requests: int  # answers received, whatever their status
    seconds: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    errors: int  # connect/read/write errors, timeouts and answers with status >= 400
    non2xx: int  # answers with status >= 400 (wrk's status errors)
    sent: int
    exhausted: bool  # the record file ran out before the time was up
    generator_cpu: float  # CPU seconds the generator used

    @property
    def ok(self) -> int:
        """Answers with a success status: the only requests throughput counts."""
        return self.requests - self.non2xx

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Spec:
    """One run: database (or ``wiremock``, the static stub), workers (for WireMock: those of
    the no-op ceiling it is measured against), what is sent, how many payments are stored."""

    db: str
    workers: int
    kind: Kind
    store: int
    journal: bool = True  # issue 14's request journal (XBORDER_JOURNAL), on by default
    repeat: int = 1  # the same run again (the journal's on/off pairs): its number

    @property
    def name(self) -> str:
        if self.db == "wiremock":
            return f"wiremock stub {self.kind.label}"
        again = f" #{self.repeat}" if self.repeat > 1 else ""
        return f"{self.rate_key} @{_count(self.store)}{again}"

    @property
    def frontier(self) -> bool:
        """A run of ``bench.frontier`` (``frontier`` on SQLite, ``frontier-postgres``), not of
        xborder."""
        return self.db.startswith("frontier")

    @property
    def rate_key(self) -> str:
        """Runs with the same key take requests at about the same rate (whatever the store)."""
        off = "" if self.journal else ", journal off"
        return f"{self.db} {self.workers}w {self.kind.label}{off}"


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


@dataclass
class Result:
    """What one run measured, with the ceilings just before and just after it."""

    spec: Spec
    load: Load
    ceilings: list[Load]
    records: int
    server_cpu_us: float
    server_sys_share: float
    rss_start_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    rss_workers_mb: list[float]  # each worker's RSS at the end of the measured phase
    durable: str
    sampled: str = "-"
    warm_errors: int = 0  # non-2xx answers and socket errors of the warm-up
    scheduler_ticked: bool | None = None  # the lifecycle scheduler renewed its lease meanwhile
    notes: list[str] = field(default_factory=list)

    @property
    def ceiling_rps(self) -> float:
        return sum(c.rps for c in self.ceilings) / len(self.ceilings)

    @property
    def ratio(self) -> float:
        return self.load.rps / self.ceiling_rps if self.ceiling_rps else 0.0

    @property
    def rss_per_worker_mb(self) -> float:
        return sum(self.rss_workers_mb) / len(self.rss_workers_mb) if self.rss_workers_mb else 0.0

    @property
    def rss_worker_max_mb(self) -> float:
        return max(self.rss_workers_mb, default=0.0)

    @property
    def checked(self) -> bool:
        """Every answer a success, every acknowledged change stored, the sample as expected."""
        ok = self.load.errors == 0 and self.warm_errors == 0 and self.durable in ("yes", "-")
        return ok and (self.sampled == "-" or self.sampled.startswith("all "))
