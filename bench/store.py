"""The store of pending payments the benchmark cancels, retrieves and adds to.

One payment is created through the product's own use case (``create_payment`` on the target
database), read back as a raw row, and cloned into ``size - 1`` more rows with their own id
and transaction reference, in one transaction (``executemany`` in batches on SQLite, ``COPY``
on PostgreSQL). Every stored payment is therefore exactly what the Payment API stores for a
sandbox request: PENDING in stage Processing, mobile money, cancellable (D3).

Loading 1,000,000 rows takes a while, so loaded stores are cached, keyed by the schema
version (the Alembic head plus the payments table's columns) and the size:

* SQLite: ``bench/.cache/sqlite-<key>-<size>.db``; every run works on a copy.
* PostgreSQL: a template database ``xbench_<key>_<size>``; runs use databases cloned from it
  with ``CREATE DATABASE ... TEMPLATE``.

The project the benchmark signs with is registered on a working copy with the product's own
command, ``xborder projects add``.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.workload import PARTNER, Client, payment_id, payment_request, reference
from xborder.clock import SystemClock
from xborder.domain.request import parse_payment_request
from xborder.services.payments import PaymentRules, create_payment
from xborder.storage.engine import make_engine
from xborder.storage.migrate import alembic_config, upgrade
from xborder.storage.tables import payments
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / ".cache"
BATCH = 20_000
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def schema_key() -> str:
    """A short key that changes whenever the migrations or the payments columns change."""
    from alembic.script import ScriptDirectory

    engine = make_engine("sqlite://")
    try:
        heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    finally:
        engine.dispose()
    columns = ",".join(f"{c.name}:{c.type}" for c in payments.columns)
    digest = hashlib.sha256(f"{sorted(heads)}|{columns}".encode()).hexdigest()
    return digest[:10]


# --- SQLite ------------------------------------------------------------------------------------


def sqlite_store(size: int, log: Any = print) -> Path:
    """The cached SQLite file holding ``size`` payments, loaded first when missing."""
    CACHE_DIR.mkdir(exist_ok=True)
    key = schema_key()
    path = CACHE_DIR / f"sqlite-{key}-{size}.db"
    if path.exists():
        log(f"  store: {size:,} payments from the cache ({path.name})")
        return path
    for stale in CACHE_DIR.glob(f"sqlite-*-{size}.db"):
        stale.unlink()  # an older schema: never valid again
    started = time.monotonic()
    partial = path.with_suffix(".loading")
    _remove_sqlite(partial)
    url = f"sqlite:///{partial}"
    template = _template_row(url)
    connection = sqlite3.connect(partial, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")  # the file is renamed in only when complete
        columns = list(template)
        names, marks = ", ".join(columns), ", ".join("?" for _ in columns)
        insert = f"INSERT INTO payments ({names}) VALUES ({marks})"  # noqa: S608 - our columns
        connection.execute("BEGIN")
        for rows in _batches(template, columns, size):
            connection.executemany(insert, rows)
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    _remove_sqlite(partial, keep_main=True)
    partial.rename(path)
    log(f"  store: loaded {size:,} payments into {path.name} in {time.monotonic() - started:.1f}s")
    return path


def sqlite_copy(source: Path, target: Path) -> str:
    """Copy a store to ``target``; return its database URL."""
    _remove_sqlite(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def _remove_sqlite(path: Path, *, keep_main: bool = False) -> None:
    for suffix in ("-wal", "-shm", "-journal") if keep_main else ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_reachable(admin_url: str) -> str | None:
    """None when the PostgreSQL server answers, else why not."""
    engine = make_engine(admin_url, pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    finally:
        engine.dispose()
    return None


def postgres_store(admin_url: str, size: int, log: Any = print) -> str:
    """The name of the template database holding ``size`` payments, loaded when missing."""
    name = f"xbench_{schema_key()}_{size}"
    existing = _database_names(admin_url)
    if name in existing:
        log(f"  store: {size:,} payments from template database {name}")
        return name
    for stale in existing:
        if stale.startswith("xbench_") and stale.endswith(f"_{size}"):
            drop_database(admin_url, stale)
    started = time.monotonic()
    loading = f"{name}_loading"
    create_database(admin_url, loading)
    url = database_url(admin_url, loading)
    template = _template_row(url)
    columns = list(template)
    with _psycopg(url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY payments ({', '.join(columns)}) FROM STDIN") as copy:
            for rows in _batches(template, columns, size):
                for row in rows:
                    copy.write_row(row)
        connection.commit()
        cursor.execute("ANALYZE payments")
        connection.commit()
    _admin(admin_url, f'ALTER DATABASE "{loading}" RENAME TO "{name}"')
    log(f"  store: loaded {size:,} payments into {name} in {time.monotonic() - started:.1f}s")
    return name


def clone_database(admin_url: str, template: str, name: str) -> str:
    """(Re)create database ``name`` as a copy of ``template``; return its URL."""
    drop_database(admin_url, name)
    _admin(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return database_url(admin_url, name)


def create_database(admin_url: str, name: str) -> None:
    drop_database(admin_url, name)
    _admin(admin_url, f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _database_names(admin_url: str) -> list[str]:
    engine = make_engine(admin_url, pool_size=1)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT datname FROM pg_database"))
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def _admin(admin_url: str, statement: str) -> None:
    engine = make_engine(admin_url, pool_size=1)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@contextlib.contextmanager
def _psycopg(url: str) -> Iterator[Any]:
    import psycopg

    parsed = make_url(url)
    connection = psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
    )
    try:
        yield connection
    finally:
        connection.close()


# --- both --------------------------------------------------------------------------------------


def _template_row(url: str) -> dict[str, Any]:
    """Migrate the database, create payment 0 through the Payment use case, and return its
    stored row (raw driver values, so clones are stored byte for byte alike)."""
    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine)
        create_payment(
            PARTNER,
            parse_payment_request(payment_request(reference(0))),
            uow_factory=SqlAlchemyUowFactory(engine),
            clock=SystemClock(),
            rules=PaymentRules(),
        )
        with engine.connect() as connection:
            cursor = connection.exec_driver_sql("SELECT * FROM payments")
            names = [d[0] for d in cursor.cursor.description]
            row = dict(zip(names, cursor.fetchone(), strict=True))
            connection.rollback()
    finally:
        engine.dispose()
    if row["status"] != "PENDING":
        raise RuntimeError(f"the template payment is {row['status']}, not PENDING")
    return row


def _batches(template: dict[str, Any], columns: list[str], size: int) -> Iterator[list[tuple]]:
    """Rows 1 .. size-1: the template with its own id and reference."""
    id_at, ref_at = columns.index("id"), columns.index("transaction_reference")
    base = [template[c] for c in columns]
    for start in range(1, size, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, size)):
            base[id_at], base[ref_at] = payment_id(i), reference(i)
            rows.append(tuple(base))
        yield rows


def register_project(client: Client, database_url: str, data_dir: Path) -> None:
    """``xborder projects add`` for the benchmark's client, on ``database_url``: its global
    project (OAuth 1.0a, with a client-encryption certificate) and its eu project (request
    tokens, D23), both with the client's signing certificate."""
    common = ["--signing-cert", str(client.signing_cert), "--database-url", database_url]
    common += ["--data-dir", str(data_dir)]
    projects = [
        ["--consumer-key", client.consumer_key, "--encryption-cert", str(client.encryption_cert)],
        ["--consumer-key", client.eu_consumer_key, "--region", "eu"],
    ]
    for project in projects:
        command = [*xborder_command(), "projects", "add", *project, *common]
        subprocess.run(command, check=True, capture_output=True, env=clean_environment())


def export_server_certificate(data_dir: Path, target: Path) -> None:
    """``xborder keys export-encryption-cert``: the certificate requests are encrypted to."""
    command = [*xborder_command(), "keys", "export-encryption-cert", "--data-dir", str(data_dir)]
    result = subprocess.run(command, check=True, capture_output=True, env=clean_environment())
    target.write_bytes(result.stdout)


def xborder_command() -> list[str]:
    script = Path(sys.executable).parent / "xborder"
    return [str(script)] if script.exists() else [sys.executable, "-m", "xborder"]


def clean_environment(**extra: str) -> dict[str, str]:
    """The environment without the caller's ``XBORDER_*`` settings, plus ``extra``."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("XBORDER_")}
    env.update(extra)
    return env
