"""Servers under test as process groups: start, wait until every worker is up, sample the
memory (RSS) and CPU time of all their processes, stop, and never leave one behind.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import wiremock
from bench.frontier import DATABASE_ENV as FRONTIER_DATABASE_ENV
from bench.frontier import READY as FRONTIER_READY
from bench.noop import READY as NOOP_READY
from bench.store import clean_environment, xborder_command

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
XBORDER_READY = "Application startup complete"
READY = {  # kind -> (what each worker logs once it serves, a path answering 200 then)
    "xborder": (XBORDER_READY, "/health"),
    "noop": (NOOP_READY, "/"),
    "frontier": (FRONTIER_READY, "/"),
    "wiremock": (wiremock.READY, wiremock.HEALTH),
}
_live: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def group_pids(pgid: int) -> list[int]:
    """Live processes of a process group (the server and its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def pid_rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError, StopIteration):
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(ln for ln in status.splitlines() if ln.startswith("VmRSS:")).split()[1])
    return 0


def _cmdline(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


def group_rss_kib(pgid: int) -> int:
    return sum(pid_rss_kib(pid) for pid in group_pids(pgid))


def group_cpu_seconds(pgid: int) -> tuple[float, float]:
    """User and system CPU seconds used so far by the live processes of a group."""
    user = system = 0
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


@dataclass
class Server:
    """One server under test. ``kind`` is ``xborder``, ``noop``, ``frontier`` (on the SQLite
    file or PostgreSQL database of ``database_url``) or ``wiremock`` (whose command line
    ``command`` gives)."""

    kind: str
    workers: int
    log_path: Path
    database_url: str | None = None
    data_dir: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    command: list[str] | None = None
    process: subprocess.Popen[bytes] | None = None
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, RSS KiB)
    _sampling: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None

    @property
    def argv(self) -> list[str]:
        if self.command is not None:
            return self.command
        if self.kind == "noop":
            return [sys.executable, "-m", "bench.noop", "--port", str(self.port),
                    "--workers", str(self.workers)]  # fmt: skip
        if self.kind == "frontier":
            return [sys.executable, "-m", "bench.frontier", "--port", str(self.port),
                    "--workers", str(self.workers)]  # fmt: skip
        argv = [*xborder_command(), "serve", "--host", HOST, "--port", str(self.port),
                "--workers", str(self.workers), "--data-dir", str(self.data_dir)]  # fmt: skip
        return [*argv, "--database-url", self.database_url] if self.database_url else argv

    def start(self, timeout: float = 60.0) -> None:
        path = os.pathsep.join(filter(None, (os.environ.get("PYTHONPATH"), str(REPO))))
        env = clean_environment(**self.env, PYTHONPATH=path)
        if self.kind == "frontier" and self.database_url:
            url = self.database_url.removeprefix("sqlite:///")
            env[FRONTIER_DATABASE_ENV] = url.replace("postgresql+psycopg://", "postgresql://")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        _live[self.process.pid] = self.process
        self._wait_ready(timeout)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        marker, path = READY[self.kind]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {self.log_tail()}")
            text = self.log_path.read_text(errors="replace")
            if text.count(marker) >= self.workers and _answers(self.port, path):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} server not ready in {timeout}s: {self.log_tail()}")

    def _sample(self) -> None:
        assert self.process is not None
        while not self._sampling.wait(0.25):
            self.samples.append((time.monotonic(), group_rss_kib(self.process.pid)))

    def rss_kib(self) -> int:
        assert self.process is not None
        return group_rss_kib(self.process.pid)

    def worker_rss_kib(self) -> list[int]:
        """The RSS of each worker. With several workers, uvicorn's supervisor (the group
        leader) and multiprocessing's resource tracker are left out: the workers are the
        processes it spawned (``spawn_main``)."""
        assert self.process is not None
        pids = group_pids(self.process.pid)
        if self.workers > 1:
            pids = [pid for pid in pids if b"spawn_main" in _cmdline(pid)]
        return [pid_rss_kib(pid) for pid in pids]

    def cpu_seconds(self) -> tuple[float, float]:
        assert self.process is not None
        return group_cpu_seconds(self.process.pid)

    def stop(self) -> int | None:
        """SIGTERM (a graceful stop), then SIGKILL to the whole group; the exit code."""
        self._sampling.set()
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        _kill(self.process)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL to every process of the server at once (a crash, not a stop)."""
        self._sampling.set()
        if self.process is not None:
            _kill(self.process)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send one raw request on a fresh connection; the status and body of the answer."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(raw)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, response.read()


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    _live.pop(process.pid, None)


@atexit.register
def kill_all() -> None:
    """Kill every server still running (also on Ctrl-C or a crash of the benchmark)."""
    for process in list(_live.values()):
        _kill(process)


def stop_on_signals(signals: Sequence[int] = (signal.SIGTERM, signal.SIGHUP)) -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so the atexit hook kills the servers."""
    for number in signals:
        signal.signal(number, lambda *_: sys.exit(1))
