"""Test databases: SQLite always; PostgreSQL when reachable (mandatory in CI).

``XBORDER_TEST_POSTGRES_URL`` names the server (default: the local one, trust auth);
each pytest worker gets its own database, created once and migrated once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    return os.environ.get("XBORDER_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def postgres_required() -> bool:
    return os.environ.get("XBORDER_REQUIRE_POSTGRES", "") not in ("", "0")


def postgres_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    engine = make_engine(postgres_admin_url(), pool_size=1)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL is not reachable at {make_url(postgres_admin_url()).host}: {exc.orig}"
    finally:
        engine.dispose()
    return None


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
    """Empty every table of the schema (PostgreSQL), keeping the migrations' record."""
    from xborder.storage.tables import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


def postgres_engine_for_session(worker: str) -> Iterator[Engine]:
    """A migrated database for one pytest worker, dropped at the end."""
    name = f"xborder_test_{worker}"
    engine = make_engine(create_postgres_database(name), pool_size=4)
    upgrade(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(name)
