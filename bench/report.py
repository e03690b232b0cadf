"""The benchmark's report: a markdown table, the targets of issue 12, the stand-ins (issue 16),
raw JSON and a PNG chart."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.model import Result
from bench.standins import THRESHOLD, Table

RSS_LIMIT_MB = 200.0
GOALS = (  # (ratio, label) drawn on the chart
    (0.5, "cancel 0.5"),
    (0.3, "create 0.3"),
    (0.25, "signed 0.25"),
    (0.15, "PG 0.15"),
)
P99_LIMIT_MS = 20.0
JOURNAL_LIMIT = 0.05  # issue 14: the most of the targets the request journal may take


def line(r: Result) -> str:
    """One progress line."""
    return (
        f"{r.spec.name:38} {r.load.rps:6.0f} req/s  ceiling {r.ceiling_rps:6.0f}  "
        f"ratio {r.ratio:5.3f}  p50 {r.load.p50:6.2f}  p99 {r.load.p99:6.2f}  "
        f"p99.9 {r.load.p999:6.2f} ms  non-2xx {r.load.non2xx}  err {r.load.errors}  "
        f"{r.server_cpu_us:5.0f} us/req (sys {100 * r.server_sys_share:.0f}%)  "
        f"RSS {r.rss_start_mb:.0f}->{r.rss_end_mb:.0f} MB, per worker "
        f"{r.rss_per_worker_mb:.0f} (max {r.rss_worker_max_mb:.0f})  durable {r.durable}  "
        f"sample {r.sampled}" + (f"  ({'; '.join(r.notes)})" if r.notes else "")
    )


def metadata(
    args: argparse.Namespace, elapsed: float, skipped: list[str], notes: list[str] | None = None
) -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for dist in ("xborder", "uvicorn", "starlette", "sqlalchemy", "cryptography", "jwcrypto",
                 "mastercard-oauth1-signer"):  # fmt: skip
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = "absent"
    return {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
        "generator": args.generator,
        "connections": args.connections,
        "threads": args.threads,
        "duration": args.duration,
        "warmup": args.warmup,
        "wiremock_warmup": args.wiremock_warmup,
        "ceiling": args.ceiling,
        "quick": args.quick,
        "only": args.only,
        "elapsed": elapsed,
        "loadavg": os.getloadavg(),
        "skipped": skipped,
        "notes": notes or [],
    }


def write(
    results: list[Result], meta: dict[str, Any], stem: Path, standins: Table | None = None
) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, json_path, png_path = (stem.with_suffix(s) for s in (".md", ".json", ".png"))
    chart = _chart(results, png_path, meta)
    md_path.write_text(markdown(results, meta, png_path.name if chart else None, standins))
    raw = _raw(results, meta) | ({"standins": _standins_raw(standins)} if standins else {})
    json_path.write_text(json.dumps(raw, indent=1, default=str) + "\n")
    return [md_path, json_path] + ([png_path] if chart else [])


def runs_raw(results: list[Result]) -> list[dict[str, Any]]:
    """The runs as ``bench.json`` holds them."""
    runs: list[dict[str, Any]] = _raw(results, {})["runs"]
    return runs


def _load_text(meta: dict[str, Any]) -> str:
    generator = meta["generator"]
    if generator == "wrk":
        generator = f"`wrk -t{meta['threads']} -c{meta['connections']}`"
        if (meta["threads"], meta["connections"]) == (1, 32):
            generator += " (issue 12's method: one wrk thread, 32 connections)"
    else:
        generator = (
            f"the Python generator ({meta['threads']} processes, {meta['connections']} "
            f"connections; wrk is missing, so the figures are only indicative)"
        )
    return generator


def markdown(
    results: list[Result], meta: dict[str, Any], chart: str | None, standins: Table | None = None
) -> str:
    v = meta["versions"]
    command = "python -m bench.run" + (" --quick" if meta["quick"] else "")
    command += f' --only "{meta["only"]}"' if meta.get("only") else ""
    out = [
        "# xborder benchmark (issue 12)",
        "",
        f"Generated {meta['generated']} by `{command}` in {meta['elapsed']:.0f} s on "
        f"{meta['cpus']} CPUs (shared), Python {meta['python']}, xborder {v['xborder']}, "
        f"uvicorn {v['uvicorn']}, starlette {v['starlette']}, SQLAlchemy {v['sqlalchemy']}, "
        f"mastercard-oauth1-signer {v['mastercard-oauth1-signer']}. "
        f"Load average at the end {meta['loadavg'][0]:.2f}.",
    ]
    if results:
        out += ["", *_runs(results, meta)]
    if standins is not None:
        out += ["", *standins_section(standins)]
    if meta["notes"]:
        out += ["", *meta["notes"]]
    if meta["skipped"]:
        out += ["", "Skipped (time budget), not measurable here, or failed: "
                + "; ".join(meta["skipped"])]  # fmt: skip
    if chart:
        out += ["", f"![ratio to the ceiling and latency per run]({chart})"]
    return "\n".join(out) + "\n"


def _runs(results: list[Result], meta: dict[str, Any]) -> list[str]:
    """The HTTP runs: how they were made, their table, issue 12's targets."""
    out = [
        f"**Load**: {_load_text(meta)}, every request a distinct pre-built record; "
        f"{meta['warmup']:g} s warm-up, then up to {meta['duration']:g} s measured (less when "
        f"the records ran out). **Unsigned** runs: the server runs with `XBORDER_AUTH=off` and "
        f"the requests carry no Authorization header (the bench partner is bound to no project, "
        f"so it is a sandbox partner). **Signed** runs: authentication on, each request "
        f"pre-signed with Mastercard's own signer (`oauth1.oauth.OAuth.get_authorization_header`"
        f", its own nonce). The **eu-signed** run: the same cancels by the bench's eu project "
        f"(D23), each request carrying a fresh OAuth 2.0 request token (RS256, its own `jti`) "
        f"made by `make_request_token` before the run. The **journal off** runs: the unsigned "
        f"cancel with `XBORDER_JOURNAL=off` (issue 14), each right after a run with it on (`#n`: "
        f"the pair again; the cost compares the medians). Every xborder server runs with its "
        f"defaults, the scheduler and the "
        f"push sender on (`XBORDER_SCHEDULER=on`, `XBORDER_WEBHOOKS=on`, said explicitly; the "
        f"scheduler's lease must be renewed during the measured phase) and the access log on "
        f"(to a file). Every cancel targets a different "
        f"pending payment. Just before and just after each run, the **ceiling**: the same "
        f"requests against a no-op ASGI app served by the same server (uvicorn) with the same "
        f"workers ({meta['ceiling']:g} s each); **ratio** = req/s of the run / mean req/s of its "
        f"two ceilings. **req/s counts only answers with a success status**; non-2xx answers "
        f"(status ≥ 400, as wrk counts them) and socket errors are listed apart. Latency from "
        f"wrk's histogram. RSS: every server process, sampled every 0.25 s (start = ready); per "
        f"worker = each worker process at the end of the measured phase (uvicorn's supervisor "
        f"left out when there are several). **Checks**: after a cancel or create run every "
        f"server process is SIGKILLed; the database must hold every change that was "
        f"acknowledged (durable), and a random sample of the cancels the server acknowledged "
        f"(its access log, on by default) must read CANCELLED. **WireMock**: its static stub "
        f"of the cancel call (one mapping, "
        f'constant 200 `{{"cancelpayment":{{"status":"SUCCESS"}}}}`, no request journal, '
        f"synchronous responses), driven with the same wrk settings and the same unsigned "
        f"cancel requests right after the 1-worker unsigned cancel run, after a JVM warm-up "
        f"(started while the stores load, then confirmed just before measuring: 2-s rounds "
        f"until three are level within 10 %, at most {meta['wiremock_warmup']:g} s each time; "
        f"the notes give the rounds); the jar comes from the npm package "
        f"`wiremock`, installed by the benchmark with `npm install` when missing.",
        "",
        "| run | req/s (2xx) | ceiling req/s | ratio | p50 ms | p99 ms | p99.9 ms | non-2xx "
        "| other errors | server CPU µs/req | RSS MB start → end (peak) | RSS MB per worker "
        "(max) | durable | sample | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for r in results:
        out.append(
            f"| {r.spec.name} | {r.load.rps:.0f} | {r.ceiling_rps:.0f} | **{r.ratio:.3f}** "
            f"| {r.load.p50:.2f} | {r.load.p99:.2f} | {r.load.p999:.2f} | {r.load.non2xx} "
            f"| {r.load.errors - r.load.non2xx} | {r.server_cpu_us:.0f} "
            f"| {r.rss_start_mb:.0f} → {r.rss_end_mb:.0f} ({r.rss_peak_mb:.0f}) "
            f"| {r.rss_per_worker_mb:.0f} ({r.rss_worker_max_mb:.0f}) | {r.durable} "
            f"| {r.sampled} | {'; '.join(r.notes)} |"
        )
    out += ["", "## Targets (issue 12)", "", *targets(results)]
    out += ["", "## Is the load generator the bottleneck?", "", *generator_check(results)]
    return out


def standins_section(table: Table) -> list[str]:
    """Issue 16's stand-ins: each against its library, and the rule applied."""
    out = [
        "## Stand-ins (issue 16)",
        "",
        f"Measured in-process by `bench/standins.py` ({table.generated}, {table.seconds:.0f} s): "
        f"each hand-written stand-in and the maintained library it replaces, on the inputs a "
        f"real request brings, µs of CPU per request (best of interleaved rounds). **Rule**: "
        f"a stand-in stays when it saves at least {100 * THRESHOLD:g} % of the server CPU of a "
        f"request kind it serves (µs/req of that kind's plainest HTTP run: SQLite, JSON, one "
        f"worker); otherwise the library comes back.",
        "",
        "| stand-in | request | stand-in µs | library µs | saving µs | server CPU µs/req "
        "(run) | share |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for r in table.rows:
        ref = "-" if r.reference is None else (
            f"{r.reference.cpu_us:.0f} ({r.reference.run}, {r.reference.source})"
        )  # fmt: skip
        share = "-" if r.share is None else f"{100 * r.share:.1f} %"
        out.append(
            f"| {r.standin} | {r.request} | {r.ours_us:.1f} | {r.library_us:.1f} "
            f"| {r.saving_us:.1f} | {ref} | {share} |"
        )
    out += ["", *(f"- {name}: {verdict}" for name, verdict in table.verdicts().items())]
    return out


def _standins_raw(table: Table) -> dict[str, Any]:
    return asdict(table) | {"threshold": THRESHOLD, "verdicts": table.verdicts()}


def _find(results: list[Result], **want: Any) -> list[Result]:
    """The runs with these properties; those of the global project with the journal on, and
    not the repeats of a run, unless ``region``, ``journal`` or ``repeat`` is asked for
    (``repeat=None``: any)."""
    want = {"region": "global", "journal": True, "repeat": 1} | want
    if want["repeat"] is None:
        del want["repeat"]
    found = []
    for r in results:
        k = r.spec.kind
        have = {
            "db": r.spec.db, "op": k.operation, "fmt": k.fmt, "enc": k.encrypted,
            "signed": k.signed, "store": r.spec.store, "workers": r.spec.workers,
            "region": k.region, "journal": r.spec.journal, "repeat": r.spec.repeat,
        }  # fmt: skip
        if all(have[key] == value for key, value in want.items()):
            found.append(r)
    return found


def _small(results: list[Result]) -> int:
    return min((r.spec.store for r in results if r.spec.db != "wiremock"), default=0)


class _Rows:
    """The targets table being built."""

    def __init__(self) -> None:
        self.lines = ["| target | run | figure | goal | met |", "|---|---|---:|---:|---|"]

    def add(
        self, target: str, r: Result | None, figure: float | None, goal: str, met: bool
    ) -> None:
        shown = "-" if figure is None else f"{figure:.3f}"
        name = "not measured" if r is None else r.spec.name
        verdict = "**yes**" if met else "no"
        self.lines.append(f"| {target} | {name} | {shown} | {goal} | {verdict} |")

    def reported(self, target: str, r: Result | None, figure: float | None, goal: str) -> None:
        """A figure measured for the record, not a pass/fail target of issue 12."""
        shown = "-" if figure is None else f"{figure:.3f}"
        name = "not measured" if r is None else r.spec.name
        self.lines.append(f"| {target} | {name} | {shown} | {goal} | reported |")

    def ratios(self, target: str, goal: float, found: list[Result]) -> None:
        if not found:
            self.add(target, None, None, f"≥ {goal:.2f}", False)
        for r in found:
            self.add(target, r, r.ratio, f"≥ {goal:.2f}", r.ratio >= goal)


def targets(results: list[Result]) -> list[str]:
    """Issue 12's targets, one row per run that measures one (SQLite unless said)."""
    rows = _Rows()
    plain = dict(fmt="json", enc=False, store=_small(results))
    unsigned = _find(results, db="sqlite", op="cancel", signed=False, **plain)
    rows.ratios("unsigned stateful cancel vs no-op ceiling", 0.5, unsigned)
    frontier = _find(results, db="frontier", op="cancel", signed=False, **plain)
    _against_frontier(rows, unsigned, frontier)
    _against_wiremock(rows, unsigned, frontier, next(iter(_find(results, db="wiremock")), None))
    _journal_cost(rows, *(_find(results, db="sqlite", op="cancel", signed=False, journal=on,
                                repeat=None, **plain) for on in (True, False)))  # fmt: skip
    signed = _find(results, db="sqlite", op="cancel", signed=True, **plain)
    rows.ratios("OAuth-signed cancel (Mastercard's signer) vs ceiling", 0.25, signed)
    _against_frontier(rows, signed, _find(results, db="frontier", op="cancel", signed=True,
                                          **plain))  # fmt: skip
    _verify_cost(rows, signed, _find(results, db="sqlite", op="cancel", signed=True,
                                     region="eu", **plain))  # fmt: skip
    create = _find(results, db="sqlite", op="create", signed=False, **plain)
    rows.ratios("create payment (sandbox) vs ceiling", 0.3, create)
    _against_frontier(rows, create, _find(results, db="frontier", op="create", **plain))
    retrieve = _find(results, db="sqlite", op="retrieve", signed=False, **plain)
    rows.ratios("retrieve vs ceiling", 0.5, retrieve)
    _against_frontier(rows, retrieve, _find(results, db="frontier", op="retrieve", **plain))
    for r in unsigned:
        ticked = "renewed" if r.scheduler_ticked else "NOT renewed"
        rows.add(f"p99 of the unsigned cancel run (ms), scheduler and push sender on (lease "
                 f"{ticked})", r, r.load.p99, f"≤ {P99_LIMIT_MS:g}",
                 r.load.p99 <= P99_LIMIT_MS and bool(r.scheduler_ticked))  # fmt: skip
    if not unsigned:
        rows.add("p99 of the unsigned cancel run (ms)", None, None, f"≤ {P99_LIMIT_MS:g}", False)
    postgres = _find(results, db="postgres", op="cancel", signed=False, **plain)
    postgres = [r for r in postgres if r.spec.workers == 2] or postgres
    rows.ratios("PostgreSQL stateful cancel (unsigned) vs ceiling", 0.15, postgres)
    _against_frontier(rows, postgres, _find(results, db="frontier-postgres", op="cancel",
                                            **plain))  # fmt: skip
    for r in _find(results, db="postgres", op="cancel", signed=True, **plain):
        rows.lines.append(f"| … the same, signed (not a target) | {r.spec.name} "
                          f"| {r.ratio:.3f} | - | reported |")  # fmt: skip
    _memory(rows, results, plain["store"])
    checked = [r for r in results if r.spec.db != "wiremock"]
    failed = [r.spec.name for r in checked if not r.checked]
    rows.lines.append(
        f"| every answer 2xx, every change durable, sampled cancels CANCELLED | "
        f"{len(checked)} runs | {len(checked) - len(failed)} | all | "
        f"{'**yes**' if checked and not failed else 'no: ' + ', '.join(failed)} |"
    )
    return rows.lines


def _journal_cost(rows: _Rows, on: list[Result], off: list[Result]) -> None:
    """Issue 14: the share of the unsigned cancel's throughput the request journal takes,
    1 − median ratio(journal on) / median ratio(journal off), each run over its own ceilings
    (the machine is shared), from the on/off pairs run one after the other at the first
    worker count; each pair's own figure is listed beside it."""
    workers = min((r.spec.workers for r in off), default=None)
    on = [r for r in on if r.spec.workers == workers]
    off = [r for r in off if r.spec.workers == workers]
    if not on or not off:
        rows.add("request journal cost", None, None, "≤ 0.05 (issue 14)", False)
        return
    median_on = statistics.median(r.ratio for r in on)
    median_off = statistics.median(r.ratio for r in off)
    cost = 1 - median_on / median_off if median_off else 1.0
    pairs = ", ".join(
        f"{1 - a.ratio / b.ratio:+.3f}" for a, b in zip(on, off, strict=False) if b.ratio
    )
    cpu_on = statistics.median(r.server_cpu_us for r in on)
    cpu_off = statistics.median(r.server_cpu_us for r in off)
    rows.add(
        f"request journal cost (1 − median ratio on / median ratio off: {median_on:.3f} with "
        f"it, {median_off:.3f} without, {len(on)} runs each; each pair: {pairs}; median "
        f"server CPU {cpu_on:.0f} vs {cpu_off:.0f} µs/req)",
        off[0],
        cost,
        "≤ 0.05 (issue 14)",
        cost <= JOURNAL_LIMIT,
    )


def _verify_cost(rows: _Rows, oauth1: list[Result], request_token: list[Result]) -> None:
    """D23: the server CPU a cancel costs when signed by a request token, over the same
    cancel signed with OAuth 1.0a, at the worker count both were run at."""
    pairs = [(a, b) for b in request_token for a in oauth1 if a.spec.workers == b.spec.workers]
    if not pairs:
        rows.reported("request-token vs OAuth 1.0a verify cost (server CPU µs/req)", None,
                      None, "-")  # fmt: skip
    for signed, eu in pairs:
        ratio = eu.server_cpu_us / signed.server_cpu_us if signed.server_cpu_us else None
        rows.reported(
            f"request-token vs OAuth 1.0a verify cost (server CPU µs/req: "
            f"{eu.server_cpu_us:.0f} request token, {signed.server_cpu_us:.0f} OAuth 1.0a; "
            f"the figure is their ratio; req/s ratio to the ceiling {eu.ratio:.3f} vs "
            f"{signed.ratio:.3f})",
            eu,
            ratio,
            "-",
        )


def _against_frontier(rows: _Rows, xborder: list[Result], frontier: list[Result]) -> None:
    """The frontier's raw request (``bench.frontier``) against the ceiling, and xborder's same
    request at the same worker count as a share of it: the part of the ratio target that the
    request path's own work could still win."""
    for f in frontier:
        what = f"{'signed ' if f.spec.kind.signed else ''}{f.spec.kind.operation}"
        where = "the same store"
        if f.spec.db == "frontier-postgres":  # the only frontier run on PostgreSQL
            where += f" (PostgreSQL, {f.spec.workers} workers)"
        short = "; its records ran out: a lower bound" if f.load.exhausted else ""
        rows.reported(f"frontier: a raw ASGI {what} on {where}, nothing else "
                      f"(`bench.frontier`; server CPU {f.server_cpu_us:.0f} µs/req{short}) vs "
                      f"ceiling", f, f.ratio, "-")  # fmt: skip
        for r in (r for r in xborder if r.spec.workers == f.spec.workers):
            share = r.ratio / f.ratio if f.ratio else None
            rows.reported(f"… xborder's {what} over the frontier's (ratio over ratio; "
                          f"server CPU {r.server_cpu_us:.0f} vs {f.server_cpu_us:.0f} µs/req)",
                          r, share, "-")  # fmt: skip


def _against_wiremock(
    rows: _Rows, unsigned: list[Result], frontier: list[Result], stub: Result | None
) -> None:
    """xborder's unsigned cancel req/s over WireMock's, both measured in this run; the
    frontier's beside them, reported (the most a cancel reaches)."""
    if stub is None:
        for r in unsigned:
            rows.add("unsigned cancel / WireMock static stub (req/s)", r, None, "≥ 0.60", False)
        return
    for r in unsigned:
        figure, what = _over_stub(r, stub)
        rows.add(what, r, figure, "≥ 0.60", figure >= 0.6)
        rows.add("… stretch: beat WireMock", r, figure, "> 1.00", figure > 1.0)
    for f in frontier:
        figure, what = _over_stub(f, stub)
        rows.reported(f"… the frontier's {what}", f, figure, "-")


def _over_stub(r: Result, stub: Result) -> tuple[float, str]:
    """A run's req/s over WireMock's, and the row's label."""
    figure = r.load.rps / stub.load.rps if stub.load.rps else 0.0
    steady = r.ratio / stub.ratio if stub.ratio else 0.0  # each over its own ceilings
    return figure, (f"unsigned cancel / WireMock static stub (req/s; WireMock "
                    f"{stub.load.rps:.0f}; the ratio of their ratios to the ceiling: "
                    f"{steady:.2f})")  # fmt: skip


def _memory(rows: _Rows, results: list[Result], small: int) -> None:
    """RSS per worker at the end of the big store's runs, and the largest worker of all."""
    limit = f"≤ {RSS_LIMIT_MB:g}"
    big = [r for r in results if r.spec.db != "wiremock" and r.spec.store > small]
    for r in big:
        rows.add(f"RSS per worker, end of the run on {r.spec.store:,} payments (MB, mean)", r,
                 r.rss_per_worker_mb, limit, 0 < r.rss_per_worker_mb <= RSS_LIMIT_MB)  # fmt: skip
        rows.add("… the largest worker (MB)", r, r.rss_worker_max_mb, limit,
                 0 < r.rss_worker_max_mb <= RSS_LIMIT_MB)  # fmt: skip
    if not big:
        rows.add("RSS per worker after 1M payments (MB)", None, None, limit, False)
    xborder = [r for r in results if r.spec.db in ("sqlite", "postgres") and r.rss_workers_mb]
    if xborder:
        top = max(xborder, key=lambda r: r.rss_worker_max_mb)
        rows.add("… the largest worker of any xborder run (MB)", top, top.rss_worker_max_mb,
                 limit, top.rss_worker_max_mb <= RSS_LIMIT_MB)  # fmt: skip


def generator_check(results: list[Result]) -> list[str]:
    if not results:
        return ["No run completed."]
    fastest = max(results, key=lambda r: r.load.rps)
    ceilings = [c.rps for r in results for c in r.ceilings]
    cpu = [100 * c.generator_cpu / c.seconds for r in results for c in r.ceilings if c.seconds]
    return [
        f"The same generator, with the same requests, drove the no-op app at "
        f"{min(ceilings):.0f}–{max(ceilings):.0f} req/s (median "
        f"{sorted(ceilings)[len(ceilings) // 2]:.0f}), {min(ceilings) / fastest.load.rps:.1f}× "
        f"or more the fastest real run ({fastest.spec.name}, {fastest.load.rps:.0f} req/s), "
        f"so it can offer the real server far more than the server takes. It then used "
        f"{min(cpu):.0f}–{max(cpu):.0f} % of one core (100 % = one core; the machine has two, "
        f"shared with the server).",
    ]


def _raw(results: list[Result], meta: dict[str, Any]) -> dict[str, Any]:
    runs = []
    for r in results:
        item = asdict(r)
        item["name"] = r.spec.name
        item["ratio"] = r.ratio
        item["rps"] = r.load.rps
        item["ceiling_rps"] = r.ceiling_rps
        item["rss_per_worker_mb"] = r.rss_per_worker_mb
        item["rss_worker_max_mb"] = r.rss_worker_max_mb
        item["checked"] = r.checked
        runs.append(item)
    return {"meta": meta, "runs": runs}


def _chart(results: list[Result], path: Path, meta: dict[str, Any]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed, no chart (pip install -e '.[bench]')")
        return False
    if not results:
        return False
    names = [r.spec.name for r in results][::-1]
    ratios = [r.ratio for r in results][::-1]
    p50 = [r.load.p50 for r in results][::-1]
    p99 = [r.load.p99 for r in results][::-1]
    p999 = [r.load.p999 for r in results][::-1]
    height = 1.2 + 0.32 * len(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, height), sharey=True)
    y = range(len(names))
    left.barh(y, ratios, color="#4878a8")
    for i, ratio in enumerate(ratios):
        left.text(ratio, i, f" {ratio:.3f}", va="center", fontsize=7)
    for goal, label in GOALS:
        left.axvline(goal, color="#c44e52", linestyle="--", linewidth=0.8)
        left.text(goal, len(names) - 0.4, label, fontsize=7, color="#c44e52", rotation=90,
                  va="top", ha="right")  # fmt: skip
    left.set_yticks(list(y), names, fontsize=8)
    left.set_xlabel("req/s as a fraction of the no-op ceiling (same server, same workers)")
    left.set_xlim(0, max(0.6, max(ratios) * 1.1))
    right.scatter(p50, y, label="p50", marker="|", s=60)
    right.scatter(p99, y, label="p99", marker="o", s=14)
    right.scatter(p999, y, label="p99.9", marker="x", s=14)
    right.axvline(P99_LIMIT_MS, color="#c44e52", linestyle="--", linewidth=0.8)
    right.set_xscale("log")
    right.set_xlabel("latency, ms (log)")
    right.legend(fontsize=8, loc="lower right")
    load = f"wrk -t{meta['threads']} -c{meta['connections']}"
    fig.suptitle(f"xborder (issue 12 targets) over HTTP, {load}, 2 cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
