"""Instructions per cancel: a measure of the request path that the host's noise cannot move.

    python -m bench.icount [--db sqlite|postgres] [--small 200] [--large 1200]

On this shared machine the ratios of ``make bench`` move by ten points or more from one run
to the next, and the CPU a request costs by a third from one hour to the next, far more than
a change to the request path saves (docs/performance.md, "The noise"). This counts machine
instructions instead, with valgrind's callgrind (``apt-get install valgrind``): unsigned
cancels of distinct pending payments through the ASGI app, in process, 32 at a time, as the
event loop of one worker runs them (the writer's groups, the request journal, the access log
and the checkpoints included; no HTTP, no scheduler or push sender). Two runs, of ``small``
and ``large`` cancels, each from a fresh copy of the bench store (100,000 payments); their
difference over ``large - small`` is the cost of one cancel, without the start-up's.

On PostgreSQL it counts the worker's instructions only: the database server is another
process. A run of 1,000 cancels takes about a minute under callgrind; both run at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from bench import store
from bench.run import WORK
from bench.workload import BASE, CANCEL_BODY, payment_id

CONCURRENCY = 32
_COLLECTED = re.compile(r"Collected : (\d+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.icount", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--small", type=int, default=200, help="cancels of the shorter run")
    parser.add_argument("--large", type=int, default=1200, help="cancels of the longer run")
    parser.add_argument("--journal", choices=("on", "off"), default="on", help=(
        "the request journal (its thread batches by the wall clock, so under callgrind its "
        "cost per cancel is not a server's: off compares request paths alone)"))  # fmt: skip
    parser.add_argument("--postgres-url", default=os.environ.get(
        "XBORDER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))  # fmt: skip
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)  # under valgrind
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        asyncio.run(_cancels(args.database_url, args.child, journal=args.journal))
        return 0
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and less than --large")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    counts = _count(args)
    per_cancel = (counts[1] - counts[0]) / (args.large - args.small)
    print(f"{args.db}: {counts[0]:,} instructions for {args.small} cancels, {counts[1]:,} for "
          f"{args.large}: {per_cancel:,.0f} per cancel")  # fmt: skip
    return 0


def _count(args: argparse.Namespace) -> tuple[int, int]:
    """The instructions of the two runs, run side by side (a count does not depend on what
    else the machine runs)."""
    with tempfile.TemporaryDirectory(dir=WORK if WORK.exists() else None) as scratch:
        runs = []
        for label, cancels in (("small", args.small), ("large", args.large)):
            url = _database(args, Path(scratch), label)
            command = ["valgrind", "--tool=callgrind",
                       f"--callgrind-out-file={scratch}/{label}.out", sys.executable, "-m",
                       "bench.icount", "--child", str(cancels), "--database-url", url,
                       "--journal", args.journal]  # fmt: skip
            runs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         text=True, env=store.clean_environment()))  # fmt: skip
        outputs = [run.communicate()[0] for run in runs]
    found = [_COLLECTED.search(output) for output in outputs]
    if not all(found) or any(run.returncode for run in runs):
        raise SystemExit("a run failed:\n" + "\n".join(o[-2000:] for o in outputs))
    small, large = (int(match.group(1)) for match in found if match is not None)
    return small, large


def _database(args: argparse.Namespace, scratch: Path, label: str) -> str:
    size = 100_000
    if args.db == "postgres":
        template = store.postgres_store(args.postgres_url, size, log=lambda *_: None)
        return store.clone_database(args.postgres_url, template, f"xbench_icount_{label}")
    return store.sqlite_copy(store.sqlite_store(size, log=lambda *_: None),
                             scratch / f"{label}.db")  # fmt: skip


async def _cancels(database_url: str, count: int, *, journal: str = "on") -> None:
    """``count`` unsigned cancels through the app, ``CONCURRENCY`` at a time."""
    from xborder.api.app import create_app
    from xborder.config import Settings

    data = Path(tempfile.mkdtemp())
    settings = Settings.from_env({
        "XBORDER_DATABASE_URL": database_url, "XBORDER_DATA_DIR": str(data),
        "XBORDER_AUTH": "off", "XBORDER_SCHEDULER": "off", "XBORDER_WEBHOOKS": "off",
        "XBORDER_LOG_LEVEL": "warning", "XBORDER_JOURNAL": journal,
    })  # fmt: skip
    app = create_app(settings)
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    events: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                       startup.get, events.put))  # fmt: skip
    if (await events.get())["type"] != "lifespan.startup.complete":
        raise SystemExit("the app did not start")
    targets = iter(range(1, count + 1))
    failed: list[int] = []

    async def client() -> None:
        for i in targets:
            if await _cancel(app, payment_id(i)) != 200:
                failed.append(i)

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan
    shutil.rmtree(data, ignore_errors=True)
    if failed:
        raise SystemExit(f"{len(failed)} cancels failed")


async def _cancel(app: Any, payment: str) -> int:
    body = CANCEL_BODY["json"]
    path = f"{BASE}/{payment}/cancel"
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"accept", b"application/json"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 8080), "state": {}}  # fmt: skip
    await app(scope, receive, send)
    return int(sent[0]["status"])


if __name__ == "__main__":
    sys.exit(main())
