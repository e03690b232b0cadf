"""``xborder clock show|advance``: the controllable clock (D17), over the admin API."""

from __future__ import annotations

import re

import click

from xborder.cli.commands.admin_common import admin_options, call, echo

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def seconds_of(text: str) -> int:
    """``90``, ``15m``, ``2h30m`` or ``1d`` as a number of seconds."""
    if text.isdigit():
        return int(text)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 90, 15m, 2h30m or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


@click.group()
def clock() -> None:
    """The server's controllable clock (XBORDER_CLOCK=controllable)."""


@clock.command("show")
@admin_options
def show(url: str, token: str | None) -> None:
    """Print the server's current time."""
    echo(call(url, token, "GET", "/clock"))


@clock.command("advance")
@click.argument("duration")
@admin_options
def advance(duration: str, url: str, token: str | None) -> None:
    """Move the clock forward by DURATION (90, 15m, 2h30m, 1d) and run the steps now due.

    \b
    Example:
      xborder clock advance 25h     # queued payments past their maximum queue time expire
    """
    echo(call(url, token, "POST", "/clock/advance", {"seconds": seconds_of(duration)}))
