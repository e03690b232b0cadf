"""Shared fixtures: a migrated SQLite database per test, a controllable clock, the app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from xborder.api.app import create_app
from xborder.clock import FixedClock
from xborder.config import Settings
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade

START = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


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


@pytest.fixture
def engine(database_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{database_path}")
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path, database_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{database_path}", access_log=False)


@pytest.fixture
def client(settings: Settings, engine: Engine, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, clock=clock)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
