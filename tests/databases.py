"""Test databases: SQLite always; PostgreSQL when reachable (mandatory in CI).

``XBORDER_TEST_POSTGRES_URL`` names the server (default: the local one, trust auth);
each pytest worker gets its own database, created once and migrated once. It and
``XBORDER_REQUIRE_POSTGRES`` are read once, at import: the autouse ``clean_environ`` fixture
removes ``XBORDER_*`` variables while a test runs, and a helper called from a test body must
still see what the session was started with.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
_ADMIN_URL = os.environ.get("XBORDER_TEST_POSTGRES_URL") or DEFAULT_POSTGRES
_REQUIRED = os.environ.get("XBORDER_REQUIRE_POSTGRES", "") not in ("", "0")


def postgres_admin_url() -> str:
    return _ADMIN_URL


def postgres_required() -> bool:
    return _REQUIRED


@functools.cache
def postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    # A short connect timeout: a filtered port must not stall the session.
    probe = make_url(postgres_admin_url()).update_query_dict({"connect_timeout": "3"})
    engine = make_engine(probe.render_as_string(hide_password=False), pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL is not reachable at {make_url(postgres_admin_url()).host}: {exc.orig}"
    finally:
        engine.dispose()
    return None


def postgres_header() -> str:
    """One line for pytest's header: whether the PostgreSQL variants will run."""
    reason = postgres_reason()
    if reason is None:
        return f"postgres: {make_url(postgres_admin_url()).host} answers; PostgreSQL variants run"
    if postgres_required():
        return f"postgres: MANDATORY (XBORDER_REQUIRE_POSTGRES) and unreachable: {reason}"
    return f"postgres: unreachable, PostgreSQL variants will be SKIPPED: {reason}"


def skip_or_fail_without_postgres() -> None:
    reason = postgres_reason()
    if reason is None:
        return
    if postgres_required():
        pytest.fail(f"PostgreSQL is mandatory here (XBORDER_REQUIRE_POSTGRES): {reason}")
    pytest.skip(f"no PostgreSQL, test skipped: {reason}")


def create_postgres_database(name: str) -> str:
    """(Re)create database ``name`` on the test server; return its URL."""
    admin = make_engine(postgres_admin_url(), pool_size=1)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(name: str) -> None:
    admin = make_engine(postgres_admin_url(), pool_size=1)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every table of the schema (PostgreSQL) and restart its identity sequences,
    keeping the migrations' record, so that each test starts as on a fresh SQLite copy.

    One round trip of ``DELETE``s: on tables this small it takes a few milliseconds where
    ``TRUNCATE`` (new files for every table, fsynced) takes tens. ``lock_timeout`` turns a
    connection some earlier test left inside a transaction into an error, not a hang.
    """
    with engine.begin() as connection:
        connection.exec_driver_sql(_cleaning_script())


def _cleaning_script() -> str:
    from xborder.storage.tables import metadata

    tables = metadata.sorted_tables
    deletes = "".join(f'DELETE FROM "{t.name}";' for t in reversed(tables))  # noqa: S608 - our own table names
    restarts = "".join(
        f"SELECT setval(pg_get_serial_sequence('{t.name}', '{c.name}'), 1, false);"
        for t in tables
        for c in t.primary_key.columns
        if c.autoincrement is True
    )
    return f"SET LOCAL lock_timeout = '10s';{deletes}{restarts}"


def postgres_engine_for_session(worker: str) -> Iterator[Engine]:
    """A migrated database for one pytest worker, dropped at the end. The process id keeps two
    sessions on one server (two checkouts, a developer beside CI) out of each other's way."""
    name = f"xborder_test_{worker}_{os.getpid()}"
    engine = make_engine(create_postgres_database(name), pool_size=16)  # racing tests: 16 threads
    upgrade(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(name)
