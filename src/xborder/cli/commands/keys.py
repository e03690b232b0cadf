"""``xborder keys``: the server's payload-encryption key pairs (D12).

Private keys stay in the data directory (mode 0600); no command prints one.
"""

from __future__ import annotations

from pathlib import Path

import click

from xborder.cli.commands._admin import data_dir_option, reporting_errors, settings_for
from xborder.security.keys import certificate_pem
from xborder.security.keystore import ServerKeyStore


@click.group()
def keys() -> None:
    """Manage the server's encryption keys (clients encrypt requests to them).

    \b
    The first start creates one. Several may be active at once: requests name theirs by
    JWE kid, so after a rotation old keys keep decrypting until they are retired.
    """


@keys.command("export-encryption-cert")
@data_dir_option
@reporting_errors
def export_command(data_dir: Path | None) -> None:
    """Print the PEM certificate clients encrypt to, and its SHA-256 fingerprint (the kid).

    The certificate goes to standard output, the fingerprint to standard error.

    \b
    Example:
      xborder keys export-encryption-cert > xborder-encryption.pem
    """
    store = _store(data_dir)
    store.ensure()
    primary = store.primary_certificate()
    click.echo(certificate_pem(primary.certificate).decode("ascii"), nl=False)
    click.echo(f"SHA-256 fingerprint (kid): {primary.kid}", err=True)


@keys.command("rotate")
@data_dir_option
@reporting_errors
def rotate_command(data_dir: Path | None) -> None:
    """Add a key and make it the one clients encrypt to; older keys keep decrypting.

    Running servers pick the new key up when the first request naming it arrives.

    \b
    Example:
      xborder keys rotate && xborder keys export-encryption-cert > xborder-encryption.pem
    """
    store = _store(data_dir)
    store.ensure()
    kid = store.rotate()
    click.echo(f"new primary key {kid}")
    click.echo("older keys keep decrypting until `xborder keys retire KID`")


@keys.command("retire")
@click.argument("kid")
@data_dir_option
@reporting_errors
def retire_command(kid: str, data_dir: Path | None) -> None:
    """Delete a key that is not primary; requests encrypted to it stop decrypting.

    \b
    Example:
      xborder keys list
      xborder keys retire 3f1c...e9a0
    """
    _store(data_dir).retire(kid)
    click.echo(f"key {kid} retired")


@keys.command("list")
@data_dir_option
@reporting_errors
def list_command(data_dir: Path | None) -> None:
    """List the active keys, the primary one first.

    \b
    Example:
      xborder keys list
    """
    listed = _store(data_dir).keys()
    if not listed:
        click.echo("no keys yet (the first start, or `keys export-encryption-cert`, creates one)")
    for key in listed:
        expires = key.certificate.not_valid_after_utc.date().isoformat()
        click.echo(f"{key.kid}  {'primary' if key.primary else 'active '}  until {expires}")


def _store(data_dir: Path | None) -> ServerKeyStore:
    return ServerKeyStore(settings_for(data_dir=data_dir).keys_dir)
