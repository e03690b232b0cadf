"""What the administration commands share: the migrated database, the data directory, and
turning xborder's errors into exit codes.

Exit codes: 0 success; 1 the command was refused (a project exists, no such project or key);
2 a usage or configuration problem (bad flag, unreadable certificate, wrong password).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from xborder.cli.commands._common import load_settings, prepare_data_dir
from xborder.cli.errors import CommandMisused, CommandRefused
from xborder.config import Settings
from xborder.errors import ConfigError, XborderError
from xborder.services.errors import InvalidProject
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

F = TypeVar("F", bound=Callable[..., Any])

_USAGE_ERRORS = (ConfigError, InvalidProject)


def reporting_errors(func: F) -> F:
    """Report :class:`xborder.errors.XborderError` as a one-line message and an exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _USAGE_ERRORS as exc:
            raise CommandMisused(str(exc)) from exc
        except XborderError as exc:
            raise CommandRefused(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def data_dir_option(func: F) -> F:
    """``--data-dir``, defaulting to ``XBORDER_DATA_DIR`` or ./data."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Data directory holding the server keys [env: XBORDER_DATA_DIR; default: ./data].",
    )(func)


def settings_for(database_url: str | None = None, data_dir: Path | None = None) -> Settings:
    """Settings from the environment with the command's flags on top."""
    return load_settings(database_url=database_url, data_dir=data_dir)


@contextlib.contextmanager
def migrated_database(settings: Settings) -> Iterator[SqlAlchemyUowFactory]:
    """A unit-of-work factory on the configured database, its schema brought up to date."""
    prepare_data_dir(settings)
    engine = make_engine(settings.effective_database_url, pool_size=1)
    try:
        upgrade(engine)
        yield SqlAlchemyUowFactory(engine)
    finally:
        engine.dispose()
