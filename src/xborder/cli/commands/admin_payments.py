"""``xborder payments advance|settle|reject|return``: operator actions over the admin API (D17).

Attached to the ``payments`` group of :mod:`xborder.cli.commands.payments`. Each action obeys
the transition table and the ledger; an illegal one exits 1 with the server's reason.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from xborder.cli.commands.admin_common import admin_options, call, echo
from xborder.cli.commands.payments import payments


def _act(partner_id: str, key: str, action: str, url: str, token: str | None, body: Any) -> None:
    path = f"/partners/{quote(partner_id, safe='')}/payments/{quote(key, safe='')}/{action}"
    echo(call(url, token, "POST", path, body))


_partner = click.option("--partner-id", required=True, help="The payment's partner.")
_key = click.argument("key")
_code = click.option("--code", required=True, help="6-digit XBS error code, e.g. 130101.")


@payments.command("advance")
@_partner
@_key
@admin_options
def advance(partner_id: str, key: str, url: str, token: str | None) -> None:
    """Push a pending payment (id or reference) to its next stage now."""
    _act(partner_id, key, "advance", url, token, None)


@payments.command("settle")
@_partner
@_key
@admin_options
def settle(partner_id: str, key: str, url: str, token: str | None) -> None:
    """Complete a pending payment: SUCCESS; its reservation becomes a debit."""
    _act(partner_id, key, "settle", url, token, None)


@payments.command("reject")
@_partner
@_key
@_code
@admin_options
def reject(partner_id: str, key: str, code: str, url: str, token: str | None) -> None:
    """Decline a pending payment with an error code; what it held is released."""
    _act(partner_id, key, "reject", url, token, {"code": code})


@payments.command("return")
@_partner
@_key
@_code
@admin_options
def return_(partner_id: str, key: str, code: str, url: str, token: str | None) -> None:
    """Return a completed payment with a return code; its amount is credited back."""
    _act(partner_id, key, "return", url, token, {"code": code})
