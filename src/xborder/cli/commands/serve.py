"""``xborder serve``: run the API."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from xborder.cli.commands._common import database_options, load_settings, prepare_data_dir
from xborder.cli.commands._console_login import console_announcement, with_console_token
from xborder.cli.commands._first_run import announcement, base_url, ensure_dev_project
from xborder.clock import SystemClock
from xborder.config import Settings
from xborder.logs import configure_logging
from xborder.security.keystore import ServerKeyStore
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.unit_of_work import SqlAlchemyUowFactory


@click.command()
@click.option("--host", help="Interface to listen on [env: XBORDER_HOST; default: 127.0.0.1].")
@click.option("--port", type=int, help="Port [env: XBORDER_PORT; default: 8080].")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes [env: XBORDER_WORKERS; default: 1].",
)
@database_options
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Serve the XBS API (migrations are applied first).

    Requests must be signed (OAuth 1.0a, D11) unless XBORDER_AUTH=off. The first start
    creates the server's encryption key in DATA/keys and, on an empty database, a sandbox
    project with development keys in DATA/dev, and prints how to sign a request with them.

    \b
    Examples:
      xborder serve
      XBORDER_PORT=9000 xborder serve --workers 2
      xborder serve --database-url postgresql://127.0.0.1/xborder
    """
    settings = load_settings(
        host=host, port=port, workers=workers, database_url=database_url, data_dir=data_dir
    )
    configure_logging(settings.log_level)
    prepare_data_dir(settings)
    settings = with_console_token(settings)
    _first_start(settings)
    # Worker processes rebuild their settings from the environment: hand the flags over.
    os.environ.update(_as_environment(settings))
    import uvicorn

    _exit_zero_on_sigterm()
    uvicorn.run(
        "xborder.api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        proxy_headers=False,  # XBORDER_TRUST_FORWARDED decides, in xborder.api.addressing
        timeout_graceful_shutdown=10,
    )


def _first_start(settings: Settings) -> None:
    """Migrate, create the server key and the dev project when missing, say what was done."""
    engine = make_engine(settings.effective_database_url)
    try:
        upgrade(engine)
        dev = ensure_dev_project(settings, SqlAlchemyUowFactory(engine), SystemClock())
    finally:
        engine.dispose()
    ServerKeyStore(settings.keys_dir).ensure()
    if dev is not None:
        click.echo(announcement(dev, base_url(settings)))  # stdout: stderr holds JSON logs only
    console = console_announcement(settings, base_url(settings))
    if console is not None:
        click.echo(console)


def _as_environment(settings: Settings) -> dict[str, str]:
    env = {
        "XBORDER_HOST": settings.host,
        "XBORDER_PORT": str(settings.port),
        "XBORDER_WORKERS": str(settings.workers),
        "XBORDER_DATA_DIR": str(settings.data_dir),
    }
    if settings.database_url:
        env["XBORDER_DATABASE_URL"] = settings.database_url
    if settings.admin_token:  # perhaps the development console's, from DATA/admin-token
        env["XBORDER_ADMIN_TOKEN"] = settings.admin_token
    return env


def _exit_zero_on_sigterm() -> None:
    """A graceful stop on SIGTERM exits 0.

    After its own graceful shutdown uvicorn restores the previous handler and raises the
    signal again; with the default handler in place the process would die by the signal.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
