"""``xborder partners``: bind partner ids to projects (D13) and register their webhooks (D14)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from xborder.api.routes import PARTNER_ID
from xborder.cli.commands._admin import migrated_database, reporting_errors, settings_for
from xborder.cli.commands._common import database_options
from xborder.clock import SystemClock
from xborder.services import projects as usecases
from xborder.services import webhooks


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


@partners.command("set-webhook")
@click.option("--partner-id", required=True, help="Any partner id, bound or not (D18).")
@click.option("--url", required=True, help="Where its status-change events are POSTed.")
@click.option("--secret-from-env", "secret_env", metavar="VAR", help="Sign with the secret in VAR.")
@click.option("--generate-secret", is_flag=True, help="Sign with a new secret, printed once.")
@database_options
@reporting_errors
def set_webhook_command(
    partner_id: str,
    url: str,
    secret_env: str | None,
    generate_secret: bool,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Register a partner's status-change webhook (D14); events are POSTed as JSON.

    \b
    Any partner id may have one: a sandbox partner needs no project binding (D18).
    With a secret, each POST carries X-Xborder-Signature: t=<unix>,v1=<HMAC-SHA256 hex of
    "<t>.<body>">, see docs/lifecycle.md ("Webhooks"). The secret is never shown again.
    Example:
      xborder partners set-webhook --partner-id MYBANK_MTF1 \\
          --url https://example.test/xbs/status/webhook --generate-secret
    """
    secret = _webhook_secret(secret_env, generate_secret)
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        webhooks.set_webhook(partner_id, url, secret, uow_factory=uow_factory)
    click.echo(f"partner {partner_id}: webhook {url}" + (" (signed)" if secret else ""))
    if generate_secret:
        click.echo(f"secret (shown once): {secret}")


def _webhook_secret(secret_env: str | None, generate: bool) -> str | None:
    if secret_env and generate:
        raise click.UsageError("--secret-from-env and --generate-secret exclude each other")
    if generate:
        return secrets.token_hex(32)
    if secret_env is None:
        return None
    secret = os.environ.get(secret_env, "")  # the variable the operator named, read once
    if not secret:
        raise click.BadParameter(f"${secret_env} is empty or unset", param_hint="--secret-from-env")
    return secret
