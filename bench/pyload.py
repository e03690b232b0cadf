"""The fallback load generator, used only when wrk is absent: asyncio on each of ``threads``
processes, ``connections / threads`` keep-alive connections each, replaying the same record
file as wrk (each record once, or cycling for the ceiling). Latency is measured per request
from the write to the end of the answer, and the percentiles are exact.

It costs roughly ten times wrk's CPU per request, which on a 2-core machine comes out of the
server's share: the ceiling it measures is far below the server's real one (see loadgen).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from pathlib import Path
from typing import Any

from bench.model import Load
from bench.workload import read_records


def run_python(
    port: int, records: Path, seconds: float, connections: int, threads: int, cycle: bool
) -> Load:
    all_records = read_records(records)
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue()
    per_process = max(1, connections // threads)
    processes = [
        context.Process(
            target=_process,
            args=(port, all_records[i::threads], per_process, seconds, cycle, queue),
        )
        for i in range(threads)
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    for process in processes:
        process.start()
    parts = [queue.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join(10)
    elapsed = max(p["elapsed"] for p in parts) or (time.monotonic() - started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    latencies = sorted(x for p in parts for x in p["latencies"])
    return Load(
        requests=len(latencies),
        seconds=elapsed,
        p50=_percentile(latencies, 50),
        p90=_percentile(latencies, 90),
        p99=_percentile(latencies, 99),
        p999=_percentile(latencies, 99.9),
        max=latencies[-1] if latencies else 0.0,
        errors=sum(p["errors"] for p in parts),
        non2xx=sum(p["non2xx"] for p in parts),
        sent=sum(p["sent"] for p in parts),
        exhausted=any(p["exhausted"] for p in parts),
        generator_cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    )


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * q / 100))]


def _process(
    port: int, records: list[bytes], connections: int, seconds: float, cycle: bool, queue: Any
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    queue.put(asyncio.run(_drive(port, records, connections, seconds, cycle)))


async def _drive(
    port: int, records: list[bytes], connections: int, seconds: float, cycle: bool
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "next": 0, "latencies": [], "errors": 0, "non2xx": 0, "sent": 0, "exhausted": False
    }  # fmt: skip
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(
        *(_connection(port, records, state, deadline, cycle) for _ in range(connections))
    )
    state["elapsed"] = time.monotonic() - started
    return state


async def _connection(
    port: int, records: list[bytes], state: dict[str, Any], deadline: float, cycle: bool
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            if state["next"] >= len(records):
                if not cycle or not records:
                    state["exhausted"] = True
                    return
                state["next"] = 0
            raw = records[state["next"]]
            state["next"] += 1
            state["sent"] += 1
            start = time.perf_counter()
            writer.write(raw)
            status = await _read_answer(reader)
            state["latencies"].append((time.perf_counter() - start) * 1000)
            if status >= 400:
                state["errors"] += 1
                state["non2xx"] += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        state["errors"] += 1
    finally:
        writer.close()


async def _read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status
