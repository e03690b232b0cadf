"""The command line's own errors: click exceptions, each carrying its exit code.

The commands that open the database themselves (``projects``, ``partners``, ``keys``,
``tokens``, ``webhooks``) turn an :class:`~xborder.errors.XborderError` into
:class:`CommandRefused` or :class:`CommandMisused` (``cli/commands/_admin.py``); the operator
commands that call the admin API (D17: ``payments settle``..., ``fund``, ``clock``) fail with
:class:`AdminFailed` and its subclasses (``cli/commands/admin_common.py``). The client
commands map the client's own errors to exit codes in ``cli/commands/_output.py``.

Hierarchy (exit code on the left)::

    click.ClickException
    ├── 1  CommandRefused           the command was refused (a project exists, no such key...)
    ├── 2  CommandMisused           a usage or configuration problem (bad flag, unusable cert)
    └── 1  AdminFailed              the admin API refused the action
        ├── 7  AdminTokenRefused    the admin token is missing or wrong
        └── 9  AdminUnreachable     no answer from the server
"""

from __future__ import annotations

import click


class CommandRefused(click.ClickException):
    """The command was refused (exit code 1)."""

    exit_code = 1


class CommandMisused(click.ClickException):
    """A usage or configuration problem (exit code 2)."""

    exit_code = 2


class AdminFailed(click.ClickException):
    """The admin API refused the action (exit 1)."""

    exit_code = 1


class AdminTokenRefused(AdminFailed):
    """The admin token is missing or wrong (exit 7)."""

    exit_code = 7


class AdminUnreachable(AdminFailed):
    """No answer from the server (exit 9)."""

    exit_code = 9
