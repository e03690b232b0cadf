"""``xborder tokens``: revoke OAuth 2.0 tokens of the Balance API (D23)."""

from __future__ import annotations

from pathlib import Path

import click

from xborder.cli.commands._admin import migrated_database, reporting_errors, settings_for
from xborder.cli.commands._common import database_options
from xborder.services import oauth2


@click.group()
def tokens() -> None:
    """Revoke OAuth 2.0 tokens of eu/uk projects (D23).

    \b
    Access tokens, refresh tokens and codes of the Balance API's authorization-code flow are
    stored hashed; revoking one revokes every token of its grant (the client must ask for
    consent again).
    """


@tokens.command("revoke")
@click.option("--token", help="An access token, refresh token or code xborder issued.")
@click.option("--project", "consumer_key", help="Revoke every token of this consumer key.")
@database_options
@reporting_errors
def revoke_command(
    token: str | None, consumer_key: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Revoke a token's grant, or every token of a project.

    \b
    Examples:
      xborder tokens revoke --token 'Xq3…'
      xborder tokens revoke --project 'eu-project!123'
    """
    if (token is None) == (consumer_key is None):
        raise click.UsageError("give exactly one of --token and --project")
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        if token is not None:
            revoked = oauth2.revoke_token(token, uow_factory=uow_factory)
        else:
            revoked = oauth2.revoke_project_tokens(str(consumer_key), uow_factory=uow_factory)
    click.echo(f"{revoked} live token(s) revoked")
