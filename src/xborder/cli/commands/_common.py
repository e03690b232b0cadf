"""Options and helpers shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from xborder.config import Settings
from xborder.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def database_options(func: F) -> F:
    """``--database-url`` and ``--data-dir``, defaulting to ``XBORDER_*``."""
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Directory for the SQLite database and generated keys"
        " [env: XBORDER_DATA_DIR; default: ./data].",
    )(func)
    func = click.option(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql://user@host/db"
        " [env: XBORDER_DATABASE_URL; default: SQLite in the data directory].",
    )(func)
    return func


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with command-line flags on top."""
    try:
        return Settings.from_env().replace(**overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory (only needed for the default SQLite database)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
