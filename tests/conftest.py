"""Shared fixtures: a migrated database per test, a controllable clock, the app.

Every test that uses ``engine`` (or ``settings``, ``client``) runs twice: on a fresh SQLite
copy and on PostgreSQL (marked ``postgres``; one migrated database per xdist worker, emptied
before each test). ``-m "not postgres"`` runs the SQLite half only, ``-m postgres`` the other.
Without a reachable PostgreSQL the second half is skipped, or fails under
``XBORDER_REQUIRE_POSTGRES=1`` (as in CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.databases import (
    postgres_engine_for_session,
    postgres_header,
    skip_or_fail_without_postgres,
    truncate_all,
)
from xborder.api.app import create_app
from xborder.clock import FixedClock
from xborder.config import Settings
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade

START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_report_header() -> str:
    return postgres_header()


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No XBORDER_* variable of the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("XBORDER_") and name != "XBORDER_REQUIRE_POSTGRES":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with every migration applied, copied for each test (fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture
def database_path(tmp_path: Path, migrated_template: Path) -> Path:
    path = tmp_path / "xborder.db"
    shutil.copyfile(migrated_template, path)
    return path


@pytest.fixture(scope="session")
def postgres_session_engine(worker_id: str) -> Iterator[Engine]:
    """This worker's migrated PostgreSQL database (skip or fail without one)."""
    skip_or_fail_without_postgres()
    yield from postgres_engine_for_session(worker_id)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database: a fresh SQLite copy, or this worker's emptied PostgreSQL."""
    if request.param == "postgres":
        shared: Engine = request.getfixturevalue("postgres_session_engine")
        truncate_all(shared)
        yield shared
        return
    engine = make_engine(f"sqlite:///{request.getfixturevalue('database_path')}")
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    """Unsigned in-process suites run with authentication off (sandbox partners only, D11);
    the signed gate has its own suites."""
    return Settings(
        data_dir=tmp_path,
        database_url=engine.url.render_as_string(hide_password=False),
        access_log=False,
        auth=False,
        scheduler=False,  # lifecycle suites drive the scheduler themselves (D17)
        webhooks=False,  # the push suites turn the sender on or drive it themselves (D14)
    )


@pytest.fixture
def client(settings: Settings, engine: Engine, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
