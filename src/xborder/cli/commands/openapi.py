"""``xborder openapi``: print the OpenAPI 3.1 description the server serves (D21)."""

from __future__ import annotations

import json

import click
import yaml

from xborder.api.openapi import openapi_document
from xborder.cli.commands._common import load_settings


class _PlainDumper(yaml.SafeDumper):
    """Writes a shared sub-schema out each time, as the JSON has it, not as a YAML alias."""

    def ignore_aliases(self, data: object) -> bool:
        return True


@click.command("openapi")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "yaml"]),
    default="json",
    show_default=True,
    help="Output format.",
)
def openapi(output_format: str) -> None:
    """Print the OpenAPI description of this deployment (as GET /openapi.json answers it).

    Admin paths are included when the admin API is on (XBORDER_ADMIN, XBORDER_DEPLOYMENT);
    XBORDER_PUBLIC_URL becomes the server.

    \b
    Examples:
      xborder openapi > openapi.json
      xborder openapi --format yaml > openapi.yaml
    """
    document = openapi_document(load_settings())
    if output_format == "yaml":
        text = yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)
        click.echo(text, nl=False)
    else:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
