"""``xborder projects``: the consumer keys allowed to call, with their certificates (D11, D13),
encryption policy (D20) and region (D23)."""

from __future__ import annotations

from pathlib import Path

import click

from xborder.cli.commands._admin import migrated_database, reporting_errors, settings_for
from xborder.cli.commands._common import database_options
from xborder.clock import SystemClock
from xborder.domain.projects import EncryptionPolicy, Environment, Region
from xborder.errors import ConfigError
from xborder.security.keys import (
    certificate_pem,
    key_id,
    load_pkcs12_certificate,
    load_request_token_certificate,
)
from xborder.services import projects as usecases

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_ENCRYPTION_HELP = (
    "required: request payloads must be encrypted and every answer is encrypted; needs"
    " --encryption-cert (D20)."
)
_REGION_HELP = "global signs with OAuth 1.0a; eu and uk with OAuth 2.0 request tokens (D23)."


@click.group()
def projects() -> None:
    """Register projects: a consumer key, its certificates and its environment (D13).

    \b
    Only certificates are stored, never a private key. A sandbox project reaches every
    partner id not bound to an mtf or production project; an mtf or production project
    reaches only the partners bound to it (`xborder partners add`).
    """


@projects.command("add")
@click.option("--consumer-key", required=True, help="The project's OAuth consumer key.")
@click.option(
    "--signing-cert",
    required=True,
    type=_FILE,
    help="Certificate of the key requests are signed with: PEM, or a PKCS#12 keystore (.p12).",
)
@click.option(
    "--signing-cert-password", help="Password of a PKCS#12 keystore (its key is not stored)."
)
@click.option(
    "--encryption-cert",
    type=_FILE,
    help="PEM certificate that encrypted responses are encrypted to (D12); optional.",
)
@click.option(
    "--environment",
    type=click.Choice([e.value for e in Environment]),
    default=Environment.SANDBOX.value,
    show_default=True,
    help="Where the project's keys work.",
)
@click.option(
    "--encryption",
    "encryption_policy",
    type=click.Choice([p.value for p in EncryptionPolicy]),
    default=EncryptionPolicy.OPTIONAL.value,
    show_default=True,
    help=_ENCRYPTION_HELP,
)
@click.option(
    "--region",
    type=click.Choice([r.value for r in Region]),
    default=Region.GLOBAL.value,
    show_default=True,
    help=_REGION_HELP,
)
@database_options
@reporting_errors
def add_command(
    consumer_key: str,
    signing_cert: Path,
    signing_cert_password: str | None,
    encryption_cert: Path | None,
    environment: str,
    encryption_policy: str,
    region: str,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Register a project.

    \b
    Examples:
      xborder projects add --consumer-key 'abc!123' --signing-cert client-signing.pem
      xborder projects add --consumer-key 'abc!123' --signing-cert keystore.p12 \\
          --signing-cert-password keystorepassword --encryption-cert client-enc.pem
      xborder projects add --consumer-key 'mtf!456' --signing-cert mtf.pem --environment mtf
      xborder projects add --consumer-key 'enc!789' --signing-cert client-signing.pem \\
          --encryption-cert client-enc.pem --encryption required
      xborder projects add --consumer-key 'eu!321' --signing-cert eu-signing.pem --region eu
    """
    signing = _certificate(signing_cert, signing_cert_password)
    encryption = _certificate(encryption_cert, None) if encryption_cert else None
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        project = usecases.add_project(
            consumer_key,
            Environment(environment),
            signing,
            encryption,
            encryption=EncryptionPolicy(encryption_policy),
            region=Region(region),
            uow_factory=uow_factory,
            clock=SystemClock(),
        )
    click.echo(f"project {project.consumer_key} added ({project.environment.value})")
    click.echo(f"  signing key id:    {_kid(signing)}")
    click.echo(f"  encryption kid:    {_kid(encryption) if encryption else '-'}")
    click.echo(f"  encryption:        {project.encryption.value}")
    click.echo(f"  region:            {project.region.value}")


@projects.command("update")
@click.argument("consumer_key")
@click.option(
    "--encryption",
    "encryption_policy",
    type=click.Choice([p.value for p in EncryptionPolicy]),
    help=_ENCRYPTION_HELP,
)
@click.option("--region", type=click.Choice([r.value for r in Region]), help=_REGION_HELP)
@database_options
@reporting_errors
def update_command(
    consumer_key: str,
    encryption_policy: str | None,
    region: str | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Change a project's encryption policy or region; running servers apply it from their
    next request.

    \b
    Examples:
      xborder projects update 'abc!123' --encryption required
      xborder projects update 'abc!123' --encryption optional --region eu
    """
    if encryption_policy is None and region is None:
        raise click.UsageError("give --encryption, --region or both")
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        project = usecases.update_project(
            consumer_key,
            encryption=EncryptionPolicy(encryption_policy) if encryption_policy else None,
            region=Region(region) if region else None,
            uow_factory=uow_factory,
        )
    click.echo(f"project {project.consumer_key} updated")
    click.echo(f"  encryption:        {project.encryption.value}")
    click.echo(f"  region:            {project.region.value}")


@projects.command("list")
@database_options
@reporting_errors
def list_command(database_url: str | None, data_dir: Path | None) -> None:
    """List projects with their environment, key ids, encryption policy, region and bound
    partners.

    \b
    Example:
      xborder projects list
    """
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        summaries = usecases.list_projects(uow_factory=uow_factory)
    if not summaries:
        click.echo("no projects")
        return
    for summary in summaries:
        project = summary.project
        encryption = project.encryption_certificate
        click.echo(project.consumer_key)
        click.echo(f"  environment:     {project.environment.value}")
        click.echo(f"  signing key id:  {_kid(project.signing_certificate)}")
        click.echo(f"  encryption kid:  {_kid(encryption) if encryption else '-'}")
        click.echo(f"  encryption:      {project.encryption.value}")
        click.echo(f"  region:          {project.region.value}")
        click.echo(f"  partners:        {', '.join(summary.partner_ids) or '-'}")
        click.echo(f"  created:         {project.created.isoformat(timespec='seconds')}")


@projects.command("remove")
@click.argument("consumer_key")
@click.option("--force", is_flag=True, help="Also unbind the partners bound to the project.")
@database_options
@reporting_errors
def remove_command(
    consumer_key: str, force: bool, database_url: str | None, data_dir: Path | None
) -> None:
    """Remove a project; its key stops working at once.

    \b
    Examples:
      xborder projects remove 'abc!123'
      xborder projects remove 'mtf!456' --force    # unbinds its partners too
    """
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        unbound = usecases.remove_project(
            consumer_key, unbind_partners=force, uow_factory=uow_factory
        )
    click.echo(f"project {consumer_key} removed")
    if unbound:
        click.echo(f"  partners unbound: {', '.join(unbound)}")


def _certificate(path: Path, password: str | None) -> str:
    """The certificate of a PEM file or a PKCS#12 keystore, as PEM text (no private key).
    RSA or EC P-256: the use case decides which a project may register (D23)."""
    data = path.read_bytes()
    if b"-----BEGIN" in data:
        certificate = load_request_token_certificate(data)
    else:
        certificate = load_pkcs12_certificate(path, password)
    if b"PRIVATE KEY-----" in data:
        click.echo(f"note: {path.name} holds a private key too; only its certificate is stored")
    return certificate_pem(certificate).decode("ascii")


def _kid(pem: str) -> str:
    try:
        return key_id(load_request_token_certificate(pem.encode("ascii")))
    except ConfigError:  # pragma: no cover - certificates are checked when added
        return "(unreadable)"
