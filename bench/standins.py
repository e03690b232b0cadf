"""The hand-written stand-ins for maintained libraries, each timed in process against the
library it replaces, on the inputs a real request brings (issue 16).

    python -m bench.run --only standins     # this alone; make bench runs it after the HTTP runs

A stand-in stays only while it saves at least :data:`THRESHOLD` of the server CPU of a
request kind it serves (that kind's server CPU µs per request, from the HTTP runs of the same
``make bench``, or else from the last results file); below that, the library comes back. The
stand-ins and what each is measured against:

  xml parse        ``api/codecs/xml.py``: expat set up as defusedxml sets it up, feeding the C
                   TreeBuilder; vs ``defusedxml.ElementTree.fromstring`` with DTDs, entities
                   and external references forbidden (the same tree, the same refusals)
  percent-encode   ``security/oauth1.py``'s ``_percent_encode`` of the signature base string;
                   vs ``urllib.parse.quote(text, safe="~")``
  XBS routing      ``api/dispatch.py``'s bypass of Starlette for XBS paths and ``api/routes.py``'s
                   matcher; vs a Starlette ``Router`` holding the app's own routes followed by
                   the XBS route templates (``routes.ENDPOINTS``), the order Starlette would try

Inputs: the bench's own requests (``bench.workload``): an XML ``paymentrequest`` body and an
XML cancel body; the Authorization header Mastercard's signer writes for a signed cancel, and
the base URL and parameters the server then encodes; the paths of a cancel, a retrieve and a
create. Each side is checked to give the same result before it is timed. Times are the CPU
time of this thread per call, the best of several rounds, the two sides' rounds interleaved.
"""

from __future__ import annotations

import secrets
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from defusedxml.ElementTree import fromstring
from oauth1.oauth import OAuth
from starlette.routing import BaseRoute, Router
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from bench.workload import BASE, CANCEL_BODY, HOST, payment_id, payment_request, reference
from xborder.api import routes
from xborder.api.app import create_app
from xborder.api.codecs import XML
from xborder.api.codecs import xml as xml_codec
from xborder.api.dispatch import XborderApp
from xborder.config import Settings
from xborder.security import oauth1
from xborder.security.keys import generate_key_pair_and_certificate
from xborder.storage.engine import make_engine

THRESHOLD = 0.01
"""A stand-in stays when it saves at least this share of the server CPU of a request it serves."""
ROUNDS = 5
ROUND_SECONDS = 0.03


@dataclass(frozen=True)
class Reference:
    """A request kind's server CPU per request, measured over HTTP by ``make bench``."""

    run: str
    cpu_us: float
    source: str  # "this run", or the results file and when it was generated


@dataclass(frozen=True)
class Row:
    """One stand-in on one request's inputs: µs per request, ours and the library's."""

    standin: str
    request: str
    ours_us: float
    library_us: float
    reference: Reference | None

    @property
    def saving_us(self) -> float:
        return self.library_us - self.ours_us

    @property
    def share(self) -> float | None:
        """The saving as a share of the request's server CPU (None: no reference)."""
        return self.saving_us / self.reference.cpu_us if self.reference else None


@dataclass(frozen=True)
class Table:
    rows: list[Row]
    generated: str
    seconds: float

    def verdicts(self) -> dict[str, str]:
        """Each stand-in's verdict under the rule, from its largest share."""
        out: dict[str, str] = {}
        for name in dict.fromkeys(r.standin for r in self.rows):
            shares = [r.share for r in self.rows if r.standin == name and r.share is not None]
            if not shares:
                out[name] = "no reference figure"
                continue
            most = max(shares)
            verdict = "stays" if most >= THRESHOLD else "library back"
            out[name] = f"{verdict} (saves at most {100 * most:.1f} % of a request's server CPU)"
        return out


@dataclass(frozen=True)
class _Case:
    standin: str
    request: str
    kind: tuple[str, bool]  # (operation, signed): whose server CPU the saving is a share of
    ours: Callable[[], object]
    library: Callable[[], object]


def measure(runs: Iterable[Mapping[str, Any]], source: str, fallback: Mapping[str, Any]) -> Table:
    """Time every stand-in against its library. ``runs`` are the HTTP runs of this call of
    the benchmark (as ``bench.json`` holds them), ``fallback`` a previous ``bench.json`` whose
    runs give the request kinds this call did not run (``source`` names this call's runs)."""
    started = time.monotonic()
    ours = _references(runs, source)
    older = _references(fallback.get("runs", []), _described(fallback))
    rows = []
    with tempfile.TemporaryDirectory(prefix="xborder-standins-") as scratch:
        for case in [*_xml_cases(), *_percent_cases(), *_routing_cases(Path(scratch))]:
            ours_us, library_us = _time_pair(case.ours, case.library)
            found = ours.get(case.kind) or older.get(case.kind)
            rows.append(Row(case.standin, case.request, ours_us, library_us, found))
    return Table(rows, time.strftime("%Y-%m-%d %H:%M:%S %Z"), time.monotonic() - started)


# --- the reference: server CPU per request of the kind served ---------------------------------


def _references(
    runs: Iterable[Mapping[str, Any]], source: str
) -> dict[tuple[str, bool], Reference]:
    """For each (operation, signed): the SQLite JSON run of the global project with the
    journal on, fewest workers and smallest store first (the plainest run of that kind)."""
    plain = []
    for run in runs:
        spec, kind = run["spec"], run["spec"]["kind"]
        if spec["db"] != "sqlite" or kind["fmt"] != "json" or kind["encrypted"]:
            continue
        if kind.get("region", "global") != "global" or not spec.get("journal", True):
            continue
        plain.append(((spec["workers"], spec["store"]), run))
    found: dict[tuple[str, bool], Reference] = {}
    for _order, run in sorted(plain, key=lambda item: item[0]):
        key = (run["spec"]["kind"]["operation"], run["spec"]["kind"]["signed"])
        if key not in found and run.get("server_cpu_us"):
            found[key] = Reference(run["name"], float(run["server_cpu_us"]), source)
    return found


def _described(results: Mapping[str, Any]) -> str:
    generated = results.get("meta", {}).get("generated")
    return f"bench.json of {generated}" if generated else "bench.json"


# --- the stand-ins ------------------------------------------------------------------------------


def _xml_cases() -> list[_Case]:
    create = XML.encode({"paymentrequest": payment_request(reference(1))})
    cancel = CANCEL_BODY["xml"]
    cases = []
    for request, body, kind in (
        ("create: XML paymentrequest body", create, ("create", False)),
        ("cancel: XML cancel body", cancel, ("cancel", False)),
    ):
        _same(ET.tostring(xml_codec._parse(body)), ET.tostring(_defused(body)), request)
        cases.append(
            _Case("xml parse", request, kind, _bind(xml_codec._parse, body), _bind(_defused, body))
        )
    return cases


def _defused(body: bytes) -> ET.Element:
    root: ET.Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return root


def _percent_cases() -> list[_Case]:
    """A signed cancel as the server verifies it: its base URL and sorted parameters, encoded
    once per request (the header's values are decoded by urllib's own ``unquote``)."""
    url = f"http://{HOST}{BASE}/{payment_id(1)}/cancel"
    key, _cert = generate_key_pair_and_certificate("xborder bench stand-ins", 1)
    consumer_key = "bench-0123456789ab!" + "0123456789abcdef" * 2  # as make_client writes them
    header = OAuth.get_authorization_header(url, "POST", CANCEL_BODY["json"], consumer_key, key)
    params = dict(oauth1.parse_authorization_header(header).params)
    params.pop("oauth_signature")
    parts = urlparse(url)
    texts = [oauth1._normalized_url(parts), oauth1._normalized_params(parts.query, params)]

    def ours() -> list[str]:
        return [oauth1._percent_encode(text) for text in texts]

    def library() -> list[str]:
        return [quote(text, safe="~") for text in texts]

    _same(ours(), library(), "percent-encode")
    request = "signed cancel: base URL and parameters"
    return [_Case("percent-encode", request, ("cancel", True), ours, library)]


def _routing_cases(scratch: Path) -> list[_Case]:
    """The app's routes, as :func:`create_app` builds them (nothing started, no database
    opened): the stand-in dispatches and matches as the server does; the library is the
    Starlette router that would hold the same routes, the XBS templates last."""
    settings = Settings(data_dir=scratch, admin_token=secrets.token_hex(16), scheduler=False,
                        webhooks=False, journal=False, access_log=False)  # fmt: skip
    engine = make_engine(f"sqlite:///{scratch / 'standins.db'}")
    try:
        app = create_app(settings, engine=engine)
    finally:
        engine.dispose()  # never connected: create_app opens nothing
    others: list[BaseRoute] = list(app.others.routes)
    standin = XborderApp(_MatchProbe(), app.others, others, access_log=False)
    library = Router(routes=[*others, *_starlette_routes()])
    cases = []
    for request, method, path, kind in (
        ("cancel: POST …/{payment-id}/cancel", "POST", f"{BASE}/{payment_id(1)}/cancel",
         ("cancel", False)),
        ("retrieve: GET …/{payment-id}", "GET", f"{BASE}/{payment_id(1)}", ("retrieve", False)),
        ("create: POST …/payment", "POST", f"{BASE}/payment", ("create", False)),
    ):  # fmt: skip
        ours, theirs = _asgi_call(standin, method, path), _asgi_call(library, method, path)
        _same(_found(ours), _found(theirs), request)
        cases.append(_Case("XBS routing", request, kind, ours, theirs))
    return cases


class _MatchProbe:
    """The XBS endpoint's routing step (``XbsEndpoint``: ``routes.match`` on the raw path),
    and nothing else; records what it matched."""

    async def __call__(self, scope: Scope, _receive: Receive, _send: Send) -> None:
        route = routes.match(scope["raw_path"], scope["method"], scope["query_string"])
        scope["found"] = (route.name, route.partner_id, route.key)


class _ParamsProbe:
    """A Starlette route's endpoint: what the router matched, and nothing else."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: Scope, _receive: Receive, _send: Send) -> None:
        params = scope["path_params"]
        scope["found"] = (self.name, params["partner_id"], params.get("payment_id", ""))


def _starlette_routes() -> list[StarletteRoute]:
    """``routes.ENDPOINTS`` as Starlette routes (parameter names as Python names)."""
    return [
        StarletteRoute(
            template.replace("-id}", "_id}"), _ParamsProbe(name), methods=[method], name=name
        )
        for name, method, template in routes.ENDPOINTS
    ]


def _asgi_call(app: Any, method: str, path: str) -> Callable[[], dict[str, Any]]:
    template = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode("ascii"), "query_string": b"",
        "root_path": "", "headers": [(b"host", HOST.encode("ascii"))],
        "server": (HOST, 80), "client": (HOST, 50000),
    }  # fmt: skip

    def call() -> dict[str, Any]:
        scope = dict(template)
        _complete(app(scope, None, None))
        return scope

    return call


def _complete(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never suspends (routing awaits nothing), without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the routing step suspended: it cannot be timed in process")


def _found(call: Callable[[], dict[str, Any]]) -> Any:
    return call().get("found")


# --- timing ---------------------------------------------------------------------------------


def _bind(function: Callable[[bytes], object], argument: bytes) -> Callable[[], object]:
    return lambda: function(argument)


def _same(ours: object, library: object, what: str) -> None:
    if ours != library:
        raise RuntimeError(f"{what}: the stand-in and the library disagree: {ours!r} {library!r}")


def _time_pair(ours: Callable[[], object], library: Callable[[], object]) -> tuple[float, float]:
    """µs of this thread's CPU per call of each, the best of :data:`ROUNDS` interleaved
    rounds (the machine is shared: the best round is the one least disturbed)."""
    counts = [_calls_per_round(ours), _calls_per_round(library)]
    best = [float("inf"), float("inf")]
    for _ in range(ROUNDS):
        for i, function in enumerate((ours, library)):
            started = time.thread_time()
            for _ in range(counts[i]):
                function()
            best[i] = min(best[i], (time.thread_time() - started) / counts[i] * 1e6)
    return best[0], best[1]


def _calls_per_round(function: Callable[[], object]) -> int:
    count = 1
    while True:
        started = time.thread_time()
        for _ in range(count):
            function()
        elapsed = time.thread_time() - started
        if elapsed >= ROUND_SECONDS / 10:
            return max(1, int(count * ROUND_SECONDS / elapsed))
        count *= 4
