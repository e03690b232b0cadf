"""The ``xborder`` command line: this module only assembles commands."""

from __future__ import annotations

import click

from xborder import __version__
from xborder.cli.commands.db import db
from xborder.cli.commands.serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xborder")
def main() -> None:
    """xborder: Mastercard Cross-Border Services' Cancel Payment API, self-hosted.

    \b
    Examples:
      xborder serve                      # SQLite in ./data, port 8080
      xborder serve --port 9000 --workers 2
      xborder db upgrade                 # apply migrations without serving
    """


main.add_command(serve)
main.add_command(db)
