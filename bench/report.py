"""The benchmark's report: a markdown table, the targets of issue 7, raw JSON and a PNG chart."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run import Result

GROWTH_LIMIT_MB = 50.0


def line(r: Result) -> str:
    """One progress line."""
    return (
        f"{r.spec.name:34} {r.load.rps:6.0f} req/s  ceiling {r.ceiling_rps:6.0f}  "
        f"ratio {r.ratio:5.3f}  p50 {r.load.p50:6.2f}  p99 {r.load.p99:6.2f}  "
        f"p99.9 {r.load.p999:6.2f} ms  err {r.load.errors}  {r.server_cpu_us:5.0f} us/req "
        f"(sys {100 * r.server_sys_share:.0f}%)  "
        f"RSS {r.rss_start_mb:.0f}->{r.rss_end_mb:.0f} MB  durable {r.durable}"
        + (f"  ({'; '.join(r.notes)})" if r.notes else "")
    )


def metadata(args: argparse.Namespace, elapsed: float, skipped: list[str]) -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for dist in ("xborder", "uvicorn", "starlette", "sqlalchemy", "cryptography", "jwcrypto"):
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
        "ceiling": args.ceiling,
        "quick": args.quick,
        "elapsed": elapsed,
        "loadavg": os.getloadavg(),
        "skipped": skipped,
    }


def write(results: list[Result], meta: dict[str, Any], stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, json_path, png_path = (stem.with_suffix(s) for s in (".md", ".json", ".png"))
    chart = _chart(results, png_path)
    md_path.write_text(markdown(results, meta, png_path.name if chart else None))
    json_path.write_text(json.dumps(_raw(results, meta), indent=1, default=str) + "\n")
    return [md_path, json_path] + ([png_path] if chart else [])


def markdown(results: list[Result], meta: dict[str, Any], chart: str | None) -> str:
    v = meta["versions"]
    out = [
        "# xborder benchmark",
        "",
        f"Generated {meta['generated']} by `python -m bench.run"
        f"{' --quick' if meta['quick'] else ''}` in {meta['elapsed']:.0f} s on "
        f"{meta['cpus']} CPUs (shared), Python {meta['python']}, xborder {v['xborder']}, "
        f"uvicorn {v['uvicorn']}, starlette {v['starlette']}, SQLAlchemy {v['sqlalchemy']}. "
        f"Load average at the end {meta['loadavg'][0]:.2f}.",
        "",
        f"Load: {meta['generator']}, {meta['threads']} threads, {meta['connections']} "
        f"connections, every request a distinct pre-signed record (each nonce once, each cancel "
        f"a different pending payment); {meta['warmup']:g} s warm-up, then up to "
        f"{meta['duration']:g} s measured (less when the records ran out). Just before and just "
        f"after each run, the **ceiling**: the same requests against a no-op ASGI app served by "
        f"the same server with the same workers ({meta['ceiling']:g} s each); **ratio** = req/s "
        f"of the run / mean req/s of its two ceilings. Latency from the generator's histogram. "
        f"RSS: all server processes, sampled every 0.25 s (start = ready, before any request). "
        f"Durable: after a cancel run every server process is SIGKILLed and the database must "
        f"hold every cancel that was acknowledged.",
        "",
        "| run | req/s | ceiling req/s | ratio | p50 ms | p99 ms | p99.9 ms | errors "
        "| server CPU µs/req | RSS MB start → end (peak) | durable | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        out.append(
            f"| {r.spec.name} | {r.load.rps:.0f} | {r.ceiling_rps:.0f} | **{r.ratio:.3f}** "
            f"| {r.load.p50:.2f} | {r.load.p99:.2f} | {r.load.p999:.2f} | {r.load.errors} "
            f"| {r.server_cpu_us:.0f} | {r.rss_start_mb:.0f} → {r.rss_end_mb:.0f} "
            f"({r.rss_peak_mb:.0f}) | {r.durable} | {'; '.join(r.notes)} |"
        )
    out += ["", "## Targets (issue 7)", "", *targets(results)]
    out += ["", "## Is the load generator the bottleneck?", "", *generator_check(results)]
    if meta["skipped"]:
        out += ["", "Skipped (time budget) or failed: " + "; ".join(meta["skipped"])]
    if chart:
        out += ["", f"![ratio to the ceiling and latency per run]({chart})"]
    return "\n".join(out) + "\n"


def _find(results: list[Result], **want: Any) -> list[Result]:
    found = []
    for r in results:
        k = r.spec.kind
        have = {
            "db": r.spec.db, "op": k.operation, "fmt": k.fmt, "enc": k.encrypted,
            "sync": r.spec.sync, "store": r.spec.store, "workers": r.spec.workers,
        }  # fmt: skip
        if all(have[key] == value for key, value in want.items()):
            found.append(r)
    return found


def _small(results: list[Result]) -> int:
    return min((r.spec.store for r in results), default=0)


def targets(results: list[Result]) -> list[str]:
    small = _small(results)
    rows = ["| target | run | figure | goal | met |", "|---|---|---:|---:|---|"]

    def add(target: str, r: Result, figure: float, goal: str, met: bool | None) -> None:
        verdict = "reported" if met is None else ("**yes**" if met else "no")
        rows.append(f"| {target} | {r.spec.name} | {figure:.3f} | {goal} | {verdict} |")

    base = dict(db="sqlite", fmt="json", sync="NORMAL", store=small)
    for r in _find(results, op="cancel", enc=False, **base):
        add("signed JSON cancel, SQLite (WAL, NORMAL): ratio", r, r.ratio, "≥ 0.50", r.ratio >= 0.5)
        add("… and p99 (ms)", r, r.load.p99, "≤ 10", r.load.p99 <= 10)
    for r in _find(results, op="cancel", enc=True, **base):
        add("signed + encrypted cancel: ratio", r, r.ratio, "≥ 0.25", r.ratio >= 0.25)
    for r in _find(results, op="create", enc=False, **base):
        add("signed create: ratio", r, r.ratio, "≥ 0.30", r.ratio >= 0.30)
    for big in _find(results, db="sqlite", op="cancel", enc=False, fmt="json", sync="NORMAL"):
        if big.spec.store == small:
            continue
        for ref in _find(results, op="cancel", enc=False, workers=big.spec.workers, **base):
            figure = big.ratio / ref.ratio if ref.ratio else 0.0
            add(f"cancel at {big.spec.store:,} / at {small:,} (ratios)", big, figure, "≥ 0.90",
                figure >= 0.9)  # fmt: skip
            raw = big.load.rps / ref.load.rps if ref.load.rps else 0.0
            add("… the same in raw req/s (no ceiling noise)", big, raw, "≥ 0.90", raw >= 0.9)
            cpu = big.server_cpu_us / ref.server_cpu_us if ref.server_cpu_us else 0.0
            add("… server CPU per request, 1M / 10k", big, cpu, "≤ 1.11", cpu <= 1 / 0.9)
        add("server RSS growth over the run (MB)", big, big.rss_growth_mb, f"< {GROWTH_LIMIT_MB:g}",
            big.rss_growth_mb < GROWTH_LIMIT_MB)  # fmt: skip
    for r in _find(results, db="sqlite", op="cancel", enc=False, fmt="json", sync="FULL"):
        add("SQLite synchronous=FULL cancel: ratio", r, r.ratio, "measured", None)
        add("… p99 (ms)", r, r.load.p99, "measured", None)
    return rows


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
        runs.append(item)
    return {"meta": meta, "runs": runs}


def _chart(results: list[Result], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed, no chart (pip install matplotlib)")
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
    for goal, label in ((0.5, "cancel 0.50"), (0.3, "create 0.30"), (0.25, "encrypted 0.25")):
        left.axvline(goal, color="#c44e52", linestyle="--", linewidth=0.8)
        left.text(goal, len(names) - 0.4, label, fontsize=7, color="#c44e52", rotation=90,
                  va="top", ha="right")  # fmt: skip
    left.set_yticks(list(y), names, fontsize=8)
    left.set_xlabel("req/s as a fraction of the no-op ceiling (same server, same workers)")
    left.set_xlim(0, max(0.6, max(ratios) * 1.1))
    right.scatter(p50, y, label="p50", marker="|", s=60)
    right.scatter(p99, y, label="p99", marker="o", s=14)
    right.scatter(p999, y, label="p99.9", marker="x", s=14)
    right.axvline(10, color="#c44e52", linestyle="--", linewidth=0.8)
    right.set_xscale("log")
    right.set_xlabel("latency, ms (log)")
    right.legend(fontsize=8, loc="lower right")
    fig.suptitle("xborder: signed requests over HTTP, 32 connections, 2 cores", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
