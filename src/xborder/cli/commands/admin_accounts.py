"""``xborder accounts fund``: credit a partner's prefunded account through the admin API (D16,
D17); queued payments it now covers are released in creation order. Attached to the
``accounts`` group of :mod:`xborder.cli.commands.accounts` by :mod:`xborder.cli`."""

from __future__ import annotations

from urllib.parse import quote

import click

from xborder.cli.commands.admin_common import admin_options, call, echo


@click.command("fund")
@click.option("--partner-id", required=True, help="The (mtf or production) partner.")
@click.option("--currency", required=True, help="ISO 4217 code of the account, e.g. USD.")
@click.option("--amount", required=True, help="Decimal amount, e.g. 250.00.")
@admin_options
def fund(partner_id: str, currency: str, amount: str, url: str, token: str | None) -> None:
    """Fund a partner's account (created on first use); print its balances.

    \b
    Example:
      xborder accounts fund --partner-id MYBANK_MTF --currency USD --amount 250.00
    """
    path = f"/partners/{quote(partner_id, safe='')}/accounts/{quote(currency, safe='')}/fund"
    echo(call(url, token, "POST", path, {"amount": amount}))
