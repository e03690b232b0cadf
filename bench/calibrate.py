"""What a request's own CPU costs in the ratio to the ceiling, whatever the app does.

    python -m bench.calibrate [--busy 0,25,50,100,250,400] [--seconds 4]

Serves the no-op ceiling app (:mod:`bench.noop`) as ``make bench`` does, but spinning a set
number of microseconds of CPU per request on the event loop, and drives it with the same
load (``wrk -t1 -c32``), each run between two runs of the plain no-op (its ceiling). The table
it prints is the ratio an app gets for its own CPU per request on this machine: the best any
xborder request could reach if its work cost that much, since the server, the sockets and
the load generator cost the same whatever the app does. ``docs/performance.md`` reads the
targets of issue 12 against it.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bench import loadgen
from bench.model import Load
from bench.noop import BUSY_ENV
from bench.run import WORK
from bench.servers import Server

_REQUEST = (
    b"POST /send/v1/partners/BENCH_PARTNER1/crossborder/rem_calibration/cancel HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n"
    b'Content-Length: 27\r\n\r\n{"cancelpaymentrequest":""}'
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--busy", default="0,25,50,100,250,400", help="microseconds per request")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per run")
    args = parser.parse_args(argv)
    if not loadgen.wrk_available():
        raise SystemExit("wrk is needed (apt-get install -y wrk)")
    WORK.mkdir(parents=True, exist_ok=True)
    records = WORK / "calibrate.records"
    records.write_bytes(b"%d\n%s" % (len(_REQUEST), _REQUEST))
    print("| app CPU µs/req | req/s | ceiling req/s | ratio | server CPU µs/req | p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|")
    for busy in (float(b) for b in args.busy.split(",")):
        before = _drive(0, records, args.seconds)[0]
        load, cpu = _drive(busy, records, args.seconds)
        after = _drive(0, records, args.seconds)[0]
        ceiling = statistics.mean([before.rps, after.rps])
        print(f"| {busy:g} | {load.rps:.0f} | {ceiling:.0f} | {load.rps / ceiling:.3f} | "
              f"{cpu:.0f} | {load.p99:.2f} |")  # fmt: skip
    return 0


def _drive(busy: float, records: Path, seconds: float) -> tuple[Load, float]:
    """One run of the no-op app spinning ``busy`` µs a request: its load and server CPU µs/req."""
    server = Server("noop", 1, WORK / "calibrate.log", env={BUSY_ENV: f"{busy:g}"})
    server.start()
    try:
        loadgen.run("wrk", server.port, records, 1, cycle=True)  # warm-up
        user0, system0 = server.cpu_seconds()
        load = loadgen.run("wrk", server.port, records, seconds, cycle=True)
        user1, system1 = server.cpu_seconds()
    finally:
        server.stop()
    spent = (user1 - user0) + (system1 - system0)
    return load, spent * 1e6 / max(load.requests, 1)


if __name__ == "__main__":
    raise SystemExit(main())
