"""What the database itself spends on a cancel, with no Python of xborder's around it.

    python -m bench.dbcost [--postgres-url URL] [--cancels 3200]

On a fresh copy of each of the benchmark's stores (100,000 pending payments), runs the
statements of a cancel as a writer group sends them: groups of 32 in one transaction, a
keyed read, the version-guarded update of the payment and the insert of its outbox event;
with a savepoint around each cancel, as a group run again after a unit failed sends them,
and (PostgreSQL; SQLite's are timed apart) without, as a group's first run does
(``storage/writer.py``).

- **SQLite** (``sqlite3``, WAL, ``synchronous=NORMAL``, checkpoints left out as the server
  runs them off the request path): the CPU of each statement, read with ``time.thread_time``
  around it; SQLite runs in the calling thread, so that is SQLite's own work.
- **PostgreSQL** (psycopg; the change and its event as two statements, or as the one
  data-modifying ``WITH`` the repository sends, ``storage/payments.py``): the CPU time of
  the connection's server process, read from ``/proc`` (the database must be local), beside
  the client's CPU and the wall time.

``docs/performance.md`` sets issue 12's targets against these figures.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import store
from bench.run import WORK
from bench.workload import PARTNER
from xborder.storage.payments import event_ref

_SELECT = (
    "SELECT id, partner_id, transaction_reference, environment, status, pending_stage,"
    " pending_max_completion_date, channel, provider, created, status_timestamp, request_json,"
    " request_fingerprint, quote_json, cashout_code, rejection_code, rejection_reason,"
    " rejection_description, rejection_source, return_message, version"
    " FROM payments WHERE id = %s AND partner_id = %s"
)
_UPDATE = (
    "UPDATE payments SET status = %s, pending_stage = NULL, pending_max_completion_date = NULL,"
    " status_timestamp = %s, version = version + 1 WHERE id = %s AND version = %s"
)
_EVENT_COLUMNS = (
    "event_ref, payment_id, partner_id, transaction_reference, previous_status, status, occurred_at"
)
_INSERT = f"INSERT INTO outbox ({_EVENT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
_TOGETHER = (
    "WITH changed AS (UPDATE payments SET status = %s, pending_stage = NULL,"
    " pending_max_completion_date = NULL, status_timestamp = %s, version = version + 1"
    " WHERE id = %s AND version = %s RETURNING id)"
    " INSERT INTO outbox (event_ref, payment_id, partner_id, transaction_reference,"
    " previous_status, status, occurred_at) SELECT %s, %s, %s, %s, %s, %s, %s FROM changed"
)
_FIRST_UNIT = "SAVEPOINT xb1"
_NEXT_UNIT = "RELEASE SAVEPOINT xb1; SAVEPOINT xb1"  # one call, as the writer sends them
GROUP = 32
_COPY = "xbench_pgcost"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--cancels", type=int, default=3200)
    args = parser.parse_args(argv)
    print("| SQLite statement | CPU µs/cancel |")
    print("|---|---:|")
    for name, micros in _sqlite(args.cancels).items():
        print(f"| {name} | {micros:.1f} |")
    print()
    template = store.postgres_store(args.postgres_url, 100_000)
    print("| statements | server process CPU µs/cancel | client CPU µs/cancel | wall µs/cancel |")
    print("|---|---:|---:|---:|")
    variants = ((False, True), (True, True), (True, False))
    for together, savepoints in variants + variants:
        url = store.clone_database(args.postgres_url, template, _COPY)
        try:
            server, client, wall = _measure(url, together, args.cancels, savepoints=savepoints)
        finally:
            store.drop_database(args.postgres_url, _COPY)
        label = "read; change and event in one WITH" if together else "read; change; event"
        label += "" if savepoints else ", no savepoints"
        print(f"| {label} | {server:.0f} | {client:.0f} | {wall:.0f} |")
    return 0


def _measure(
    url: str, together: bool, cancels: int, *, savepoints: bool = True
) -> tuple[float, float, float]:
    """Per cancel: the server process's CPU, the client's CPU and the wall time, in µs."""
    indexes = random.Random(3).sample(range(1, 100_000), cancels)
    now = datetime.now(UTC)
    with psycopg.connect(url) as connection:
        cursor = connection.cursor()
        stat = Path(f"/proc/{connection.info.backend_pid}/stat")
        server0, client0, wall0 = _cpu(stat), time.process_time(), time.perf_counter()
        for start in range(0, cancels, GROUP):
            for position, i in enumerate(indexes[start : start + GROUP]):
                payment = f"rem_bench{i:022d}"
                if savepoints:
                    cursor.execute(_NEXT_UNIT if position else _FIRST_UNIT)
                cursor.execute(_SELECT, (payment, PARTNER))
                row = cursor.fetchone()
                assert row is not None
                change = ("CANCELLED", now, payment, row[-1])
                event = (event_ref(), payment, PARTNER, row[2], "PENDING",
                         "CANCELLED", now)  # fmt: skip
                if together:
                    cursor.execute(_TOGETHER, change + event)
                    assert cursor.rowcount == 1
                else:
                    cursor.execute(_UPDATE, change)
                    assert cursor.rowcount == 1
                    cursor.execute(_INSERT, event)
            connection.commit()
        server1, client1, wall1 = _cpu(stat), time.process_time(), time.perf_counter()
    per = 1e6 / cancels
    return (server1 - server0) * per, (client1 - client0) * per, (wall1 - wall0) * per


def _sqlite(cancels: int) -> dict[str, float]:
    """CPU µs per cancel of each of its statements on a copy of the SQLite store."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "dbcost.db"
    store.sqlite_copy(store.sqlite_store(100_000), path)
    select_sql, update_sql, insert_sql = (_qmark(q) for q in (_SELECT, _UPDATE, _INSERT))
    spent = dict.fromkeys(("SAVEPOINT", "read", "update", "insert event", "RELEASE", "COMMIT"), 0.0)
    indexes = random.Random(3).sample(range(1, 100_000), cancels)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "wal_autocheckpoint=0"):  # fmt: skip
            connection.execute(f"PRAGMA {pragma}")
        cursor = connection.cursor()
        clock = time.thread_time
        for start in range(0, cancels, GROUP):
            cursor.execute("BEGIN IMMEDIATE")
            for i in indexes[start : start + GROUP]:
                payment = f"rem_bench{i:022d}"
                began = clock()
                cursor.execute(_FIRST_UNIT)
                read = clock()
                row = cursor.execute(select_sql, (payment, PARTNER)).fetchone()
                update = clock()
                change = ("CANCELLED", now, payment, row[-1])
                changed = cursor.execute(update_sql, change).rowcount
                insert = clock()
                event = (event_ref(), payment, PARTNER, row[2], "PENDING", "CANCELLED", now)
                cursor.execute(insert_sql, event)
                release = clock()
                cursor.execute("RELEASE SAVEPOINT xb1")
                end = clock()
                assert changed == 1
                spent["SAVEPOINT"] += read - began
                spent["read"] += update - read
                spent["update"] += insert - update
                spent["insert event"] += release - insert
                spent["RELEASE"] += end - release
            began = clock()
            cursor.execute("COMMIT")
            spent["COMMIT"] += clock() - began
    finally:
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    spent["all"] = sum(spent.values())
    spent["all but the savepoints (a group's first run)"] = (
        spent["all"] - spent["SAVEPOINT"] - spent["RELEASE"]
    )
    return {name: seconds * 1e6 / cancels for name, seconds in spent.items()}


def _qmark(statement: str) -> str:
    """A statement written for psycopg (``%s``) in sqlite3's placeholders (``?``)."""
    return statement.replace("%s", "?")


def _cpu(stat: Path) -> float:
    """User and system CPU seconds of a local process, from /proc/PID/stat."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    raise SystemExit(main())
