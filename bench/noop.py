"""The ceiling: a no-op ASGI app served exactly as ``xborder serve`` serves xborder.

The app reads the whole request body (the server must deliver it, as it does to xborder) and
answers every request with the same fixed JSON body. The launcher calls ``uvicorn.run`` with
the arguments of ``xborder.cli.commands.serve`` (uvloop, httptools, no access log, the same
worker count), so the only difference from a real run is the application.

    python -m bench.noop --port 8099 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

BODY = b'{"cancelpayment":{"status":"SUCCESS"}}'
BUSY_ENV = "XBORDER_BENCH_BUSY_US"
"""With this set (``bench.calibrate``), each request first spins this many microseconds of
CPU on the event loop: an app whose own work costs that much, and nothing else."""
_BUSY = float(os.environ.get(BUSY_ENV, "0")) / 1e6
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
READY = "bench-noop-ready"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer 200 and ``BODY`` to any request, after reading its body."""
    if scope["type"] == "http":
        while (await receive()).get("more_body"):
            pass
        if _BUSY:
            until = time.perf_counter() + _BUSY
            while time.perf_counter() < until:
                pass
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": BODY})
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                print(f"{READY} {os.getpid()}", file=sys.stderr, flush=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve("bench.noop:app", args.host, args.port, args.workers)


def serve(app: str, host: str, port: int, workers: int) -> None:
    """Serve ``app`` (an import string) with the arguments of ``xborder serve``
    (:mod:`xborder.cli.commands.serve`): uvloop, httptools, no access log."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
