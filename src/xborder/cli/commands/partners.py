"""``xborder partners``: bind partner ids to projects (D13)."""

from __future__ import annotations

from pathlib import Path

import click

from xborder.api.routes import PARTNER_ID
from xborder.cli.commands._admin import migrated_database, reporting_errors, settings_for
from xborder.cli.commands._common import database_options
from xborder.clock import SystemClock
from xborder.services import projects as usecases


@click.group()
def partners() -> None:
    """Bind partner ids to projects.

    \b
    An mtf or production project reaches only the partners bound to it (D13); a partner
    bound to one is out of reach of sandbox keys. Sandbox partners need no binding.
    """


@partners.command("add")
@click.option("--partner-id", required=True, help="The partner id of the XBS paths.")
@click.option("--project", "consumer_key", required=True, help="The project's consumer key.")
@database_options
@reporting_errors
def add_command(
    partner_id: str, consumer_key: str, database_url: str | None, data_dir: Path | None
) -> None:
    """Bind a partner to a project.

    \b
    Example:
      xborder partners add --partner-id MYBANK_MTF1 --project 'mtf!456'
    """
    if not PARTNER_ID.fullmatch(partner_id):
        raise click.BadParameter("at most 35 characters, no spaces (D8)", param_hint="--partner-id")
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        binding = usecases.bind_partner(
            partner_id, consumer_key, uow_factory=uow_factory, clock=SystemClock()
        )
    click.echo(f"partner {binding.partner_id} bound to project {binding.consumer_key}")


@partners.command("list")
@database_options
@reporting_errors
def list_command(database_url: str | None, data_dir: Path | None) -> None:
    """List partner bindings.

    \b
    Example:
      xborder partners list
    """
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        bindings = usecases.list_partners(uow_factory=uow_factory)
    if not bindings:
        click.echo("no partners bound")
    for binding in bindings:
        click.echo(f"{binding.partner_id}  {binding.consumer_key}")


@partners.command("remove")
@click.argument("partner_id")
@database_options
@reporting_errors
def remove_command(partner_id: str, database_url: str | None, data_dir: Path | None) -> None:
    """Unbind a partner (it becomes a sandbox partner again).

    \b
    Example:
      xborder partners remove MYBANK_MTF1
    """
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        usecases.unbind_partner(partner_id, uow_factory=uow_factory)
    click.echo(f"partner {partner_id} unbound")
