"""``xborder accounts``: prefunded settlement accounts and their balances (Balance API,
docs/reference.md §12; JSON only)."""

from __future__ import annotations

import json
from typing import Any

import click

from xborder.cli.commands._output import (
    echo_pairs,
    echo_table,
    output_options,
    reporting,
    text,
)
from xborder.cli.commands._profiles import Injected, connection_options, open_client
from xborder.client import Account, XborderClient

BALANCES = (
    "opening_balance",
    "processed_amount",
    "reserved_balance",
    "available_balance",
    "settlement_account_balance",
    "queued_balance",
    "threshold_amount",
)
LIST_COLUMNS = ("ACCOUNT", "CURRENCY", "STATE", "AVAILABLE", "RESERVED", "QUEUED", "AS OF")


def balances_option(func: Any) -> Any:
    """``--balances/--no-balances`` (the API's ``include_balance``)."""
    return click.option(
        "--balances/--no-balances",
        default=True,
        show_default=True,
        help="Ask for balances (include_balance).",
    )(func)


@click.group()
def accounts() -> None:
    """Prefunded accounts and their balances (XBS Balance API, JSON only); operator commands
    over the admin API join this group.

    \b
    Examples:
      xborder accounts list
      xborder accounts get acct_usd --json
    """


@accounts.command("list")
@balances_option
@output_options(formats=("json",))
@connection_options
def list_accounts(balances: bool, output: str, settings: Any) -> None:
    """List the partner's prefunded accounts.

    \b
    Examples:
      xborder accounts list
      xborder accounts list --no-balances --json
    """
    with reporting(output), _open(settings) as client:
        found = client.get_accounts(include_balance=balances)
    if output == "json":
        click.echo(_json([account.document for account in found]))
    elif found:
        echo_table(LIST_COLUMNS, [_row(account) for account in found])
    else:
        click.echo("no accounts")


@accounts.command("get")
@click.argument("account_id")
@balances_option
@output_options(formats=("json",))
@connection_options
def get_account(account_id: str, balances: bool, output: str, settings: Any) -> None:
    """Show one prefunded account.

    \b
    Examples:
      xborder accounts get acct_usd
      xborder accounts get acct_usd --no-balances --json
    """
    with reporting(output), _open(settings) as client:
        account = client.get_account(account_id, include_balance=balances)
    if output == "json":
        click.echo(_json(account.document))
    else:
        echo_pairs(_pairs(account))


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _open(settings: Any) -> XborderClient:
    injected = click.get_current_context().find_object(Injected)
    return open_client(settings.resolve(), injected)


def _row(account: Account) -> list[str]:
    details = account.balance_details
    return [
        account.account_id,
        account.settlement_currency or "",
        account.account_state or "",
        text(details.available_balance) if details else "",
        text(details.reserved_balance) if details else "",
        text(details.queued_balance) if details else "",
        text(account.balance_as_of),
    ]


def _pairs(account: Account) -> list[tuple[str, str]]:
    pairs = [
        ("account_id", account.account_id),
        ("settlement_currency", account.settlement_currency or ""),
        ("account_state", account.account_state or ""),
        ("opening_balance_timestamp", account.opening_balance_timestamp or ""),
        ("balance_as_of", text(account.balance_as_of)),
    ]
    details = account.balance_details
    if details is not None:
        pairs.extend((name, text(getattr(details, name))) for name in BALANCES)
    return [(name, value) for name, value in pairs if value]
