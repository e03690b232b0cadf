"""How many threads run PostgreSQL reads per worker (XBORDER_REQUEST_THREADS)."""

from __future__ import annotations

import pytest

from xborder.api.app import reader_threads
from xborder.config import Settings
from xborder.errors import ConfigError


def test_the_pool_less_the_writer_and_background_connections() -> None:
    assert reader_threads(Settings.from_env({"XBORDER_POOL_SIZE": "8"})) == 6
    assert reader_threads(Settings.from_env({"XBORDER_POOL_SIZE": "1"})) == 1
    postgres = {"XBORDER_DATABASE_URL": "postgresql://db/x", "XBORDER_POOL_SIZE": "5"}
    assert reader_threads(Settings.from_env(postgres)) == 3


def test_the_variable_overrides_the_default() -> None:
    settings = Settings.from_env({"XBORDER_REQUEST_THREADS": "6"})
    assert settings.request_threads == 6 and reader_threads(settings) == 6


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_bad_values_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="XBORDER_REQUEST_THREADS"):
        Settings.from_env({"XBORDER_REQUEST_THREADS": value})
