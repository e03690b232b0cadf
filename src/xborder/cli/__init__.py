"""The ``xborder`` command line: this module only assembles commands."""

from __future__ import annotations

import click

from xborder import __version__
from xborder.cli.commands import admin_payments as _admin_payments  # noqa: F401 - attaches to payments
from xborder.cli.commands.accounts import accounts
from xborder.cli.commands.admin_accounts import fund
from xborder.cli.commands.admin_clock import clock
from xborder.cli.commands.db import db
from xborder.cli.commands.keys import keys
from xborder.cli.commands.openapi import openapi
from xborder.cli.commands.partners import partners
from xborder.cli.commands.payments import payments
from xborder.cli.commands.projects import projects
from xborder.cli.commands.serve import serve
from xborder.cli.commands.tokens import tokens
from xborder.cli.commands.webhooks import webhooks


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xborder")
def main() -> None:
    """xborder: Mastercard Cross-Border Services' Cancel Payment API, self-hosted.

    \b
    Examples:
      xborder serve                      # SQLite in ./data, port 8080
      xborder serve --port 9000 --workers 2
      xborder db upgrade                 # apply migrations without serving
      xborder projects add --consumer-key KEY --signing-cert cert.pem
      xborder keys export-encryption-cert > xborder-encryption.pem
    """


main.add_command(serve)
main.add_command(db)
main.add_command(payments)  # client commands; D17 operator commands attach to the group
accounts.add_command(fund)  # D17 operator command beside the Balance API client commands
main.add_command(accounts)
main.add_command(clock)
main.add_command(projects)
main.add_command(partners)
main.add_command(keys)
main.add_command(webhooks)  # D14
main.add_command(tokens)  # D23
main.add_command(openapi)  # D21
