"""Choose xborder's ASGI server (and confirm the framework) by measurement.

Run from the repository root:

    .venv/bin/python bench/server_candidates.py            # full run, < 6 minutes
    .venv/bin/python bench/server_candidates.py --help     # knobs (rounds, servers, apps ...)

What it does
  1. Behaviour checks, per server, against ``probe_app`` below (1 worker; SIGTERM also with 2):
     HTTP/1.0 request (plain and with a streamed, length-less response), a chunked request body
     without Content-Length, ``raw_path`` present in the scope with ``%2F`` preserved, and SIGTERM
     while a 1.5 s request is in flight (request must complete, exit code 0, no stray workers).
  2. Load: every (app, workers, server) combination is served on 127.0.0.1 and driven by wrk
     (2 threads, 32 connections, POST with a 30-byte JSON body, 2 s warm-up discarded, then 8 s
     measured). Combinations are interleaved (A,B,C,A,B,C ...) over ``--rounds`` rounds because
     the machine is shared and noisy. The apps are:
       raw            a no-op ASGI app answering a fixed 36-byte JSON body,
       starlette      Starlette, one POST route, body parsed with json, orjson reply, plus a pure
                      ASGI middleware adding one header (models the access-log middleware),
       starlette-bhm  the same with a BaseHTTPMiddleware instead (only for ``--bhm`` combos),
       raw-read       (opt-in) raw, but awaits receive() for the body: isolates the server's
                      receive() cost, which raw alone hides.
     Opt-in granian variants (``--servers granian-defaults,granian-st,...``) explore its flags.
  3. Prints a markdown report and writes it to bench/results/server_candidates.md.

Needs ``wrk`` on PATH (Debian package ``wrk``). Hypercorn is measured only when installed in the
virtualenv. Only loopback traffic; every server is started in its own process group and killed on
exit. A time budget (``--budget``) skips load runs that would not fit.

Caveat for reading the numbers: wrk runs on the same 2 cores as the server, so req/s are lower
than on a dedicated box; "server CPU us/req" (CPU time of the server's process group divided by
requests served) is the less noise-sensitive cost figure.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import http.client
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# --------------------------------------------------------------------------------------------
# The apps. The servers import them as ``server_candidates:<name>`` (cwd = this directory).
# --------------------------------------------------------------------------------------------

BENCH_PATH = "/send/v1/partners/BENCHPARTNER/crossborder/PAY-0001/cancel"
REQUEST_BODY = b'{"reason":"DUPLICATE_PAYMENT"}'  # 30 bytes
RAW_BODY = b'{"status":"SUCCESS","paymentId":"x"}'  # 36 bytes
CANCEL_BODY = b'{"cancelpayment":{"status":"SUCCESS"}}'
HEADER = (b"x-request-id", b"bench")
SLOW_SECONDS = 1.5
assert len(RAW_BODY) == 36 and len(REQUEST_BODY) == 30


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


_RAW_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"36")]


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """No-op ASGI app: fixed 36-byte JSON, whatever the request."""
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": _RAW_HEADERS})
        await send({"type": "http.response.body", "body": RAW_BODY})
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


async def raw_read_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Like raw_app but reads the request body first (isolates the server's receive() cost)."""
    if scope["type"] == "http":
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": _RAW_HEADERS})
        await send({"type": "http.response.body", "body": RAW_BODY})
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)


class AddHeader:
    """Pure ASGI middleware adding one response header (stand-in for the access log)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), HEADER]
            await send(message)

        await self.app(scope, receive, send_with_header)


class AddHeaderBHM(BaseHTTPMiddleware):
    """The same header through BaseHTTPMiddleware, to show what that style costs."""

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["x-request-id"] = "bench"
        return response


async def cancel(request: Request) -> Response:
    payload = json.loads(await request.body())
    if not isinstance(payload, dict):
        return Response(status_code=400)
    return Response(
        orjson.dumps({"cancelpayment": {"status": "SUCCESS"}}), media_type="application/json"
    )


_ROUTES = [
    Route(
        "/send/v1/partners/{partner_id}/crossborder/{payment_id}/cancel", cancel, methods=["POST"]
    )
]
starlette_app = Starlette(routes=_ROUTES, middleware=[Middleware(AddHeader)])
starlette_bhm_app = Starlette(routes=_ROUTES, middleware=[Middleware(AddHeaderBHM)])


async def probe_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Behaviour probe: echoes what the server put in the scope and the body it delivered."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stream":  # no Content-Length: server must frame it itself
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"part":1,', "more_body": True})
        await send({"type": "http.response.body", "body": b'"end":true}'})
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(SLOW_SECONDS)
        out = b'{"slow":"done"}'
    else:
        raw_path = scope.get("raw_path", "<missing>")
        out = json.dumps(
            {
                "http_version": scope.get("http_version"),
                "path": scope["path"],
                "raw_path": raw_path.decode("latin-1") if isinstance(raw_path, bytes) else None,
                "raw_path_present": "raw_path" in scope,
                "raw_path_type": type(raw_path).__name__,
                "query_string": scope.get("query_string", b"").decode("latin-1"),
                "body": body.decode("latin-1"),
            }
        ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


APPS = {
    "raw": "raw_app",
    "raw-read": "raw_read_app",
    "starlette": "starlette_app",
    "starlette-bhm": "starlette_bhm_app",
}

# --------------------------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent


_G = "granian --interface asgi --host 127.0.0.1 --port {port} --workers {workers}"
SERVERS = {  # command templates; the first word is a script in the virtualenv's bin/
    "uvicorn": "uvicorn {app} --host 127.0.0.1 --port {port} --workers {workers} "
    "--http httptools --loop uvloop --no-access-log --log-level warning",
    "granian": _G + " --loop uvloop --http 1 --log-level warning {app}",
    "hypercorn": "hypercorn --bind 127.0.0.1:{port} --workers {workers} --worker-class uvloop "
    "--log-level warning {app}",
    # opt-in variants exploring granian's options
    "granian-defaults": _G + " --log-level warning {app}",
    "granian-uvloop": _G + " --loop uvloop --log-level warning {app}",
    "granian-h1": _G + " --http 1 --log-level warning {app}",
    "granian-nows": _G + " --loop uvloop --http 1 --no-ws --log-level warning {app}",
    "granian-rusttask": _G + " --loop uvloop --http 1 --task-impl rust --log-level warning {app}",
    "granian-st": _G + " --loop uvloop --http 1 --runtime-mode st --log-level warning {app}",
}


def server_argv(server: str, app: str, port: int, workers: int) -> list[str]:
    words = SERVERS[server].format(app=app, port=port, workers=workers).split()
    return [str(VENV_BIN / words[0]), *words[1:]]


def installed(server: str) -> bool:
    return (VENV_BIN / SERVERS[server].split()[0]).exists()


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


_LIVE: set[int] = set()  # process-group ids of servers still running


def _kill_all() -> None:
    for pgid in list(_LIVE):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        _LIVE.discard(pgid)


atexit.register(_kill_all)


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry))
    return pids


def _group_cpu(pgid: int) -> float:
    """CPU seconds (user + sys) used so far by the live processes of a process group."""
    total = 0
    for pid in _group_pids(pgid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    app: str
    workers: int
    logdir: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def argv(self) -> list[str]:
        app = f"server_candidates:{APPS.get(self.app, self.app)}"
        return server_argv(self.name, app, self.port, self.workers)

    def start(self, ready_timeout: float = 20.0) -> None:
        env = dict(os.environ, PYTHONPATH=str(HERE), PYTHONDONTWRITEBYTECODE="1")
        log = (self.logdir / f"{self.name}-{self.app}-{self.workers}w-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=HERE,
            env=env,
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _LIVE.add(self.proc.pid)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}): {self.log_tail()}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, headers, body = http_post(self.port, BENCH_PATH, REQUEST_BODY)
                if status == 200 or self.app == "probe_app":
                    self._validate(status, headers, body)
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready in {ready_timeout}s: {self.log_tail()}")

    def _validate(self, status: int, headers: dict[str, str], body: bytes) -> None:
        if self.app.startswith("raw"):
            ok = status == 200 and body == RAW_BODY
        elif self.app.startswith("starlette"):
            ok = status == 200 and body == CANCEL_BODY and headers.get("x-request-id") == "bench"
        else:
            ok = status == 200
        if not ok:
            raise RuntimeError(f"{self.name}/{self.app}: unexpected answer {status} {body!r}")

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stray workers too
        self.proc.wait(timeout=5)
        _LIVE.discard(self.proc.pid)

    def log_tail(self) -> str:
        logs = sorted(self.logdir.glob(f"{self.name}-{self.app}-{self.workers}w-{self.port}.log"))
        return logs[-1].read_text(errors="replace")[-800:] if logs else ""


def http_post(port: int, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# Behaviour checks (raw sockets, so the exact bytes on the wire are under our control)
# --------------------------------------------------------------------------------------------


def raw_exchange(port: int, chunks: list[bytes], timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send the chunks (small pauses between), read until EOF. Returns (bytes, closed_by_peer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(0.05)
            s.sendall(chunk)
        data = b""
        try:
            while part := s.recv(65536):
                data += part
            return data, True
        except TimeoutError:
            return data, False


def parse_response(data: bytes) -> tuple[str, int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    return version, int(status), headers, body


RAW_PATH = "/send/v1/partners/PART%2FNER/crossborder/p%20q/cancel"


def check_server(name: str, logdir: Path) -> dict[str, str]:
    results: dict[str, str] = {}
    srv = Server(name, "probe_app", 1, logdir)
    srv.start()
    try:
        host = b"Host: 127.0.0.1\r\n"
        # HTTP/1.0, fixed-length answer
        try:
            data, closed = raw_exchange(srv.port, [b"GET /probe HTTP/1.0\r\n" + host + b"\r\n"])
            ver, status, _, body = parse_response(data)
            seen = json.loads(body).get("http_version")
            verdict = "FAIL" if status != 200 or not closed else "PASS" if seen == "1.0" else "WARN"
            results["http/1.0"] = (
                f"{verdict} ({ver} {status}, scope http_version={seen!r}, closed={closed})"
            )
        except Exception as exc:  # noqa: BLE001 - report, don't crash the run
            results["http/1.0"] = f"FAIL ({exc!r})"
        # HTTP/1.0, streamed answer without Content-Length: must not be chunked, must close
        try:
            data, closed = raw_exchange(srv.port, [b"GET /stream HTTP/1.0\r\n" + host + b"\r\n"])
            ver, status, headers, body = parse_response(data)
            te = headers.get("transfer-encoding", "-")
            ok = status == 200 and body == b'{"part":1,"end":true}' and "chunked" not in te
            results["http/1.0 stream"] = (
                f"{'PASS' if ok else 'FAIL'} (transfer-encoding={te}, "
                f"closed={closed}, body={body!r})"
            )
        except Exception as exc:  # noqa: BLE001
            results["http/1.0 stream"] = f"FAIL ({exc!r})"
        # chunked request body, no Content-Length
        try:
            head = (
                b"POST /probe HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            parts = [REQUEST_BODY[:11], REQUEST_BODY[11:22], REQUEST_BODY[22:]]
            chunks = [head] + [b"%x\r\n%s\r\n" % (len(p), p) for p in parts] + [b"0\r\n\r\n"]
            _, status, _, body = parse_response(raw_exchange(srv.port, chunks)[0])
            got = json.loads(body)["body"].encode("latin-1")
            ok = status == 200 and got == REQUEST_BODY
            results["chunked body"] = f"{'PASS' if ok else 'FAIL'} ({status}, {len(got)} bytes)"
        except Exception as exc:  # noqa: BLE001
            results["chunked body"] = f"FAIL ({exc!r})"
        # raw_path present, %2F preserved, query string kept out of it
        try:
            req = (
                f"GET {RAW_PATH}?q=%2F HTTP/1.1\r\n".encode() + host + b"Connection: close\r\n\r\n"
            )
            _, status, _, body = parse_response(raw_exchange(srv.port, [req])[0])
            seen = json.loads(body)
            ok = seen["raw_path_present"] and seen["raw_path"] == RAW_PATH
            results["raw_path"] = (
                f"{'PASS' if ok else 'FAIL'} (raw_path={seen['raw_path']!r}, "
                f"type={seen['raw_path_type']}, path={seen['path']!r})"
            )
        except Exception as exc:  # noqa: BLE001
            results["raw_path"] = f"FAIL ({exc!r})"
    finally:
        srv.stop()
    for workers in (1, 2):
        results[f"SIGTERM {workers}w"] = check_sigterm(name, workers, logdir)
    return results


def check_sigterm(name: str, workers: int, logdir: Path) -> str:
    srv = Server(name, "probe_app", workers, logdir)
    srv.start()
    assert srv.proc is not None
    try:
        if workers > 1:
            time.sleep(1.0)  # let every worker finish importing
        answer: list[Any] = []
        req = b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        t = threading.Thread(target=lambda: answer.append(raw_exchange(srv.port, [req], 10)))
        t.start()
        time.sleep(0.5)  # request is in flight inside the app
        t0 = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)  # the main process only, as an orchestrator does
        try:
            code: int | None = srv.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - t0
        t.join(timeout=10)
        time.sleep(0.3)
        strays = _group_pids(srv.proc.pid)
        status, body = 0, b""
        with contextlib.suppress(Exception):
            _, status, _, body = parse_response(answer[0][0])
        done = status == 200 and body == b'{"slow":"done"}'
        # exit by the re-raised SIGTERM after a graceful stop is a WARN, not a FAIL
        verdict = (
            "FAIL"
            if not done or strays or code not in (0, -signal.SIGTERM)
            else ("PASS" if code == 0 else "WARN")
        )
        return (
            f"{verdict} (in-flight {'completed' if done else 'LOST'}, "
            f"exit={code}, {took:.1f}s, stray pids={len(strays)})"
        )
    finally:
        srv.stop()


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------

LUA = r"""
wrk.method = "POST"
wrk.body = 'REQUEST_BODY'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
    .. '"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
""".replace("REQUEST_BODY", REQUEST_BODY.decode())


def wrk_argv(lua: Path, port: int, seconds: int) -> list[str]:
    return [
        "wrk",
        "-t2",
        "-c32",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(lua),
        f"http://127.0.0.1:{port}{BENCH_PATH}",
    ]


def run_wrk(lua: Path, srv: Server, seconds: int) -> dict[str, float]:
    assert srv.proc is not None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = _group_cpu(srv.proc.pid)
    out = subprocess.run(
        wrk_argv(lua, srv.port, seconds),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    cpu1 = _group_cpu(srv.proc.pid)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    r = json.loads(line[7:])
    secs = r["duration_us"] / 1e6
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rps": r["requests"] / secs,
        "p50": r["p50_us"] / 1000,
        "p99": r["p99_us"] / 1000,
        "errors": r["errors"] + r["non2xx"],
        "cpu_us": (cpu1 - cpu0) * 1e6 / max(r["requests"], 1),
        "srv_cpu": 100 * (cpu1 - cpu0) / secs,
        "wrk_cpu": 100 * wrk_cpu / secs,
    }


def bench(args: argparse.Namespace, logdir: Path, started: float) -> dict[tuple, list[dict]]:
    lua = logdir / "post.lua"
    lua.write_text(LUA)
    combos = [(a, w, s) for a in args.apps for w in args.workers for s in args.servers]
    for spec in args.bhm:
        server, _, w = spec.partition(":")
        if server in args.servers:
            combos.append(("starlette-bhm", int(w or 1), server))
    per_run = args.warmup + args.duration + 2.0
    results: dict[tuple, list[dict]] = {c: [] for c in combos}
    print(f"\n{len(combos)} combinations x {args.rounds} rounds, ~{per_run:.0f}s each", flush=True)
    for rnd in range(1, args.rounds + 1):
        for app, workers, server in combos:
            if time.monotonic() - started + per_run > args.budget:
                print(f"  budget reached: skipping round {rnd} {app}/{server}/{workers}w")
                continue
            srv = Server(server, app, workers, logdir)
            try:
                srv.start()
                if args.warmup:
                    subprocess.run(
                        wrk_argv(lua, srv.port, args.warmup),
                        capture_output=True,
                        timeout=args.warmup + 30,
                        check=True,
                    )
                r = run_wrk(lua, srv, args.duration)
            except Exception as exc:  # noqa: BLE001 - one broken combination must not stop the run
                print(f"  round {rnd} {app:13} {server:16} {workers}w  ERROR {exc}", flush=True)
                continue
            finally:
                srv.stop()
            results[(app, workers, server)].append(r)
            print(
                f"  round {rnd} {app:13} {server:16} {workers}w  {r['rps']:8.0f} req/s  "
                f"p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  "
                f"{r['cpu_us']:5.0f} us/req  err {r['errors']:.0f}",
                flush=True,
            )
    return results


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(args: argparse.Namespace, checks: dict, results: dict, load: tuple) -> str:
    out = ["# ASGI server candidates for xborder", ""]
    out.append(
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} by `bench/server_candidates.py` "
        f"on {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        + ", ".join(
            f"{d} {version(d)}"
            for d in ("uvicorn", "granian", "hypercorn", "starlette", "uvloop", "httptools")
        )
        + f". Load average at start {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}."
    )
    out += [
        "",
        f"wrk: 2 threads, 32 connections, POST {len(REQUEST_BODY)}-byte JSON, "
        f"{args.warmup}s warm-up discarded, {args.duration}s measured, {args.rounds} "
        "interleaved rounds; req/s = median of rounds (per-round values shown), latency = "
        "median of the rounds' p50/p99. wrk shares the 2 cores with the server; CPU % is of "
        "one core (200 % = the whole machine).",
        "",
    ]
    if results:
        out += [
            "| app | server | workers | req/s | req/s per round | p50 ms | p99 ms "
            "| server CPU us/req | server CPU % | wrk CPU % | errors |",
            "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for (app, workers, server), runs in results.items():
            if not runs:
                out.append(f"| {app} | {server} | {workers} | n/a | | | | | | | |")
                continue
            rounds = " / ".join(f"{r['rps']:.0f}" for r in runs)
            out.append(
                f"| {app} | {server} | {workers} | {med(runs, 'rps'):.0f} | {rounds} "
                f"| {med(runs, 'p50'):.2f} | {med(runs, 'p99'):.2f} "
                f"| {med(runs, 'cpu_us'):.0f} | {med(runs, 'srv_cpu'):.0f} "
                f"| {med(runs, 'wrk_cpu'):.0f} "
                f"| {sum(r['errors'] for r in runs):.0f} |"
            )
        out += [
            "",
            "Framework cost (same server and workers; ratio of median req/s, "
            "difference of server CPU per request):",
            "",
            "| server | workers | starlette/raw req/s | +us/req | bhm/starlette req/s | +us/req |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for workers in args.workers:
            for server in args.servers:
                raw = results.get(("raw", workers, server))
                st = results.get(("starlette", workers, server))
                bhm = results.get(("starlette-bhm", workers, server))
                if not (raw and st):
                    continue
                cells = [
                    f"{med(st, 'rps') / med(raw, 'rps'):.2f}",
                    f"{med(st, 'cpu_us') - med(raw, 'cpu_us'):+.0f}",
                ]
                if bhm:
                    cells += [
                        f"{med(bhm, 'rps') / med(st, 'rps'):.2f}",
                        f"{med(bhm, 'cpu_us') - med(st, 'cpu_us'):+.0f}",
                    ]
                else:
                    cells += ["", ""]
                out.append(f"| {server} | {workers} | " + " | ".join(cells) + " |")
    if checks:
        names = list(dict.fromkeys(n for res in checks.values() for n in res))
        out += [
            "",
            "## Behaviour checks",
            "",
            "| server | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for server, res in checks.items():
            out.append(f"| {server} | " + " | ".join(res.get(n, "") for n in names) + " |")
    out += ["", "## Command lines", ""]
    for server in args.servers:
        cmd = SERVERS[server].format(app="server_candidates:<app>", port="<port>", workers="<1|2>")
        out.append(f"- {server}: `cd bench && PYTHONPATH=. {cmd}`")
    out.append(
        f"- load: `{' '.join(wrk_argv(Path('post.lua'), 0, args.duration))}` "
        "(after the same for the warm-up), post.lua = the LUA string in the script"
    )
    return "\n".join(out).replace("127.0.0.1:0/", "127.0.0.1:<port>/") + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    avail = [s for s in ("uvicorn", "granian", "hypercorn") if installed(s)]
    p.add_argument("--servers", default=",".join(avail), help=f"from {', '.join(SERVERS)}")
    p.add_argument(
        "--apps", default="raw,starlette", help="raw, raw-read, starlette, starlette-bhm"
    )
    p.add_argument("--workers", default="1,2")
    p.add_argument(
        "--bhm",
        default="uvicorn:2",
        help="server:workers combos also measured with BaseHTTPMiddleware",
    )
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--duration", type=int, default=8, help="measured seconds per run")
    p.add_argument("--warmup", type=int, default=2, help="discarded seconds per run")
    p.add_argument(
        "--budget", type=float, default=345, help="whole-run seconds; load runs beyond are skipped"
    )
    p.add_argument("--no-checks", action="store_true")
    p.add_argument("--no-load", action="store_true")
    p.add_argument("--output", default=str(HERE / "results" / "server_candidates.md"))
    args = p.parse_args()
    args.servers = [s for s in args.servers.split(",") if s]
    args.apps = [a for a in args.apps.split(",") if a]
    args.workers = [int(w) for w in args.workers.split(",")]
    args.bhm = [b for b in args.bhm.split(",") if b]
    for s in args.servers:
        if s not in SERVERS or not installed(s):
            p.error(f"server {s!r} unknown or not installed")
    if not args.no_load and not shutil.which("wrk"):
        p.error("wrk not found (apt-get install -y wrk)")

    started = time.monotonic()
    load = os.getloadavg()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))  # -> atexit kills the servers
    checks: dict[str, dict[str, str]] = {}
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="xborder-servers-") as tmp:
        logdir = Path(tmp)
        try:
            if not args.no_checks:
                for server in args.servers:
                    print(f"checking {server} ...", flush=True)
                    try:
                        checks[server] = check_server(server, logdir)
                    except Exception as exc:  # noqa: BLE001
                        checks[server] = {"start": f"FAIL ({exc})"}
                    for k, v in checks[server].items():
                        print(f"  {k:16} {v}", flush=True)
            if not args.no_load:
                results = bench(args, logdir, started)
        finally:
            _kill_all()
    text = report(args, checks, results, load)
    end = os.getloadavg()
    text += f"\nLoad average at end {end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}.\n"
    print("\n" + text)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out} in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
