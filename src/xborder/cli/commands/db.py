"""``xborder db``: schema management."""

from __future__ import annotations

from pathlib import Path

import click

from xborder.cli.commands._common import database_options, load_settings, prepare_data_dir
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@database_options
def upgrade_command(database_url: str | None, data_dir: Path | None) -> None:
    """Apply every pending migration (the server also does this at start).

    \b
    Example:
      XBORDER_DATABASE_URL=postgresql://127.0.0.1/xborder xborder db upgrade
    """
    settings = load_settings(database_url=database_url, data_dir=data_dir)
    prepare_data_dir(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    click.echo("schema is up to date")
