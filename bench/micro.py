"""In-process cost of each step of a signed cancel or create, without HTTP (for profiling).

    python -m bench.micro [--kind cancel|create] [--rounds 5] [--count 200] [--encrypted] [--xml]

Builds a 10,000-payment SQLite store (from the benchmark's cache), registers a project, then
times, each ``count`` times per round and keeping the best round (this machine is noisy),
for ``--kind cancel`` (the default):

    verify        oauth1.verify of a signed cancel (parse, body hash, RSA-SHA256)
    access_for    the project and partner lookup the gate does (one read transaction)
    nonce         NonceGuard.check_and_record (one write transaction)
    cancel        the cancel_payment use case (one write transaction)
    admit         SignedGate.admit: all of the above but the cancel, plus decryption
    handle        XbsEndpoint._handle: gate, decode, cancel, encode, seal
    asgi          the whole ASGI app (access log, routing, body, thread pool), no server

and for ``--kind create`` (each call creates its own payment, with a reference of its own):

    decode        decode_body + parse_payment_request (JSON or XML body to a PaymentRequest)
    create        the create_payment use case (one write transaction)
    answer        payment_view + codec encode of the created payment
    handle        XbsEndpoint._handle: gate, decode, create, encode, seal
    asgi          the whole ASGI app, no server

CPU microseconds per call; every call uses its own nonce and cancels or creates its own payment.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import store, workload
from bench.workload import PARTNER, Kind, payment_id
from xborder.api.app import create_app
from xborder.api.gate import Incoming
from xborder.api.routes import decode_body, match
from xborder.api.schemas import payment_view
from xborder.clock import SystemClock
from xborder.config import Settings
from xborder.domain.model import Payment
from xborder.domain.projects import Environment
from xborder.domain.request import PaymentRequest, parse_payment_request
from xborder.security import oauth1
from xborder.security.keys import load_certificate, rsa_public_key
from xborder.services import projects
from xborder.services.nonces import NonceGuard
from xborder.services.payments import PaymentRules, cancel_payment, create_payment
from xborder.storage.unit_of_work import SqlAlchemyUowFactory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("cancel", "create"), default="cancel")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--encrypted", action="store_true")
    parser.add_argument("--xml", action="store_true")
    parser.add_argument("--profile", metavar="STEP", help="cProfile one step, print its top 30")
    parser.add_argument("--sort", default="tottime", help="profile order (tottime, cumulative)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xbench-micro-") as tmp:
        run(Path(tmp), args)


def run(tmp: Path, args: argparse.Namespace) -> None:
    settings = Settings(data_dir=tmp / "data", scheduler=False, dev_project=False)
    settings.data_dir.mkdir()
    server_cert = tmp / "server-cert.pem"
    store.export_server_certificate(settings.data_dir, server_cert)
    client = workload.make_client(tmp / "client", server_cert)
    db = tmp / "data" / "xborder.db"
    shutil.copyfile(store.sqlite_store(10_000, log=lambda *_: None), db)
    app = create_app(settings)
    engine = app.state.engine
    uow_factory = SqlAlchemyUowFactory(engine)
    projects.add_project(
        client.consumer_key,
        Environment.SANDBOX,
        client.signing_cert.read_text(),
        client.encryption_cert.read_text(),
        uow_factory=uow_factory,
        clock=SystemClock(),
    )
    kind = Kind(args.kind, "xml" if args.xml else "json", args.encrypted)
    workload._init(client, kind)
    targets = iter(range(1, 10_000))
    public_key = rsa_public_key(load_certificate(client.signing_cert))
    endpoint = _endpoint(app)
    count, rounds = args.count, args.rounds

    def signed() -> tuple[str, str, dict[str, str], bytes]:
        raw = workload.build_request(*workload.specs(kind, [next(targets)], "m")[0])
        return _parse(raw)

    def verify_step(request: Any) -> None:
        method, path, headers, body = request
        authorization = headers["authorization"]
        url = f"http://127.0.0.1{path}"
        now = int(time.time())
        oauth1.verify(
            method, url, authorization, body, public_key_for=lambda _: public_key, now=now
        )

    guard = NonceGuard(uow_factory)

    def access_step(_: object) -> None:
        projects.access_for(client.consumer_key, PARTNER, uow_factory=uow_factory)

    def nonce_step(nonce: str) -> None:
        guard.check_and_record(client.consumer_key, nonce, int(time.time()), time.time())

    def cancel_step(pid: str) -> None:
        rules = PaymentRules()
        cancel_payment(PARTNER, pid, uow_factory=uow_factory, clock=SystemClock(), rules=rules)

    def asgi_step(requests: list[tuple[str, str, dict[str, str], bytes]]) -> None:
        _LOOP.run_until_complete(_asgi_all(app, requests))

    steps: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
        "verify": (signed, verify_step),
        "access_for": (lambda: None, access_step),
        "nonce": (lambda: f"n{time.perf_counter_ns()}", nonce_step),
        "cancel": (lambda: payment_id(next(targets)), cancel_step),
        "admit": (lambda: _incoming(signed()), endpoint.gate.admit),
        "handle": (lambda: _incoming(signed()), lambda incoming: _handle(endpoint, incoming)),
        "asgi": (signed, asgi_step),
    }
    if args.kind == "create":
        steps = _create_steps(kind, uow_factory, endpoint, steps)
    if args.profile:
        prepare, step = steps[args.profile]
        _profile(prepare, step, count * rounds, batch=args.profile == "asgi", sort=args.sort)
        engine.dispose()
        return
    print(f"{kind.label}: CPU µs per call, best of {rounds} rounds of {count}")
    for name, (prepare, step) in steps.items():
        batch = name == "asgi"  # one event loop run for the whole round, as in a server
        best = min(_round(prepare, step, count, batch=batch) for _ in range(rounds))
        print(f"  {name:11} {best:8.0f}")
    engine.dispose()


Steps = dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]]


def _create_steps(kind: Kind, uow_factory: Any, endpoint: Any, cancel_steps: Steps) -> Steps:
    """The create workload: ``signed`` requests for ``handle`` and ``asgi`` are new creates."""
    codec = workload.CODECS[kind.fmt]
    route = match(f"{workload.BASE}/payment".encode(), "POST", b"")
    sequence = iter(range(10**9))
    tag = f"m{time.time_ns() % 10**9}"

    def body() -> bytes:
        return workload.specs(kind, [next(sequence)], tag)[0][2]

    def decode_step(raw: bytes) -> PaymentRequest:
        return parse_payment_request(decode_body(route, raw, codec))

    def create_step(request: PaymentRequest) -> Payment:
        return create_payment(
            PARTNER, request, uow_factory=uow_factory, clock=SystemClock(), rules=PaymentRules()
        )

    def answer_step(payment: Payment) -> bytes:
        return codec.encode(payment_view(payment))

    return {
        "decode": (body, decode_step),
        "create": (lambda: decode_step(body()), create_step),
        "answer": (lambda: create_step(decode_step(body())), answer_step),
        "handle": cancel_steps["handle"],
        "asgi": cancel_steps["asgi"],
    }


def _profile(
    prepare: Callable[[], Any], step: Callable[[Any], Any], count: int, *, batch: bool, sort: str
) -> None:
    import cProfile
    import pstats

    inputs = [prepare() for _ in range(count)]
    profiler = cProfile.Profile()
    profiler.enable()
    if batch:
        step(inputs)
    else:
        for item in inputs:
            step(item)
    profiler.disable()
    pstats.Stats(profiler).sort_stats(sort).print_stats(30)


def _round(
    prepare: Callable[[], Any], step: Callable[[Any], Any], count: int, *, batch: bool = False
) -> float:
    inputs = [prepare() for _ in range(count)]
    started = time.process_time()
    if batch:
        step(inputs)
    else:
        for item in inputs:
            step(item)
    return (time.process_time() - started) * 1e6 / count


def _parse(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers, body


def _incoming(request: tuple[str, str, dict[str, str], bytes]) -> Incoming:
    method, path, headers, body = request
    return Incoming(method, f"http://127.0.0.1{path}", PARTNER, headers, body)


def _endpoint(app: Any) -> Any:
    for route in app.routes:
        if getattr(route, "path", None) == "" and hasattr(route.app, "gate"):
            return route.app
    raise RuntimeError("no XBS endpoint in the app")


def _handle(endpoint: Any, incoming: Incoming) -> None:
    route = match(incoming.url.split("127.0.0.1", 1)[1].encode(), incoming.method, b"")
    from xborder.api.codecs import JSON

    status, _headers, body = endpoint._handle(route, incoming, JSON, "1")
    if status != 200:
        raise RuntimeError(f"handle answered {status}: {body[:200]!r}")


_LOOP = asyncio.new_event_loop()  # one loop, as in a server process


async def _asgi_all(app: Any, requests: list[tuple[str, str, dict[str, str], bytes]]) -> None:
    for request in requests:
        await _asgi(app, request)


async def _asgi(app: Any, request: tuple[str, str, dict[str, str], bytes]) -> None:
    method, path, headers, body = request
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise RuntimeError(f"asgi answered {sent[0]['status']}: {sent[1]['body'][:200]!r}")


if __name__ == "__main__":
    main()
