"""Load generators: wrk replaying the record file (preferred), or a Python fallback.

wrk (``apt-get install -y wrk``) runs ``replay.lua``: every request is a distinct pre-built
record, sent once (the ceiling may cycle through them: its no-op app checks nothing); the
latency percentiles come from wrk's own latency histogram (microsecond resolution).

The Python fallback (:mod:`bench.pyload`) is used only when wrk is absent, with a warning: it
needs far more CPU per request than wrk, so on this 2-core machine it steals CPU from the
server and caps the ceiling well below what the server can do. Its ratios are therefore
optimistic and its absolute figures low; install wrk for figures worth quoting.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from pathlib import Path

from bench.model import Load
from bench.pyload import run_python

LUA = Path(__file__).resolve().parent / "replay.lua"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run(
    generator: str,
    port: int,
    records: Path,
    seconds: float,
    *,
    connections: int = 32,
    threads: int = 1,
    cycle: bool = False,
) -> Load:
    """Drive ``127.0.0.1:port`` with the records for at most ``seconds``."""
    if generator == "wrk":
        return run_wrk(port, records, seconds, connections, threads, cycle)
    return run_python(port, records, seconds, connections, threads, cycle)


def run_wrk(
    port: int, records: Path, seconds: float, connections: int, threads: int, cycle: bool
) -> Load:
    env = dict(os.environ, XB_RECORDS=str(records), XB_THREADS=str(threads))
    env["XB_CYCLE"] = "1" if cycle else "0"
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}/",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((ln for ln in out.splitlines() if ln.startswith("XBENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out[-1000:]}")
    r = json.loads(line[len("XBENCH ") :])
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
    return Load(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50=r["p50_us"] / 1000,
        p90=r["p90_us"] / 1000,
        p99=r["p99_us"] / 1000,
        p999=r["p999_us"] / 1000,
        max=r["max_us"] / 1000,
        errors=errors,
        non2xx=r["status"],
        sent=r["sent"],
        exhausted=r["exhausted_threads"] > 0,
        generator_cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    )
