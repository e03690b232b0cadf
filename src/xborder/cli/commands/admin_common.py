"""What the operator commands share (D17): the admin API's address and token, an HTTP client,
and turning its answers into output and exit codes.

``--url`` (env ``XBORDER_ADMIN_URL``, default ``http://127.0.0.1:8080``) and ``--token`` (env
``XBORDER_ADMIN_TOKEN``, the server's own admin token; without either, the token a
development server keeps in ``DATA/admin-token``). Exit codes: 0 done; 1 the server
refused the action (illegal for the payment's state, not found, bad input); 2 usage; 7 the
token was refused; 9 no answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
import httpx

from xborder.cli.commands._console_login import TOKEN_FILE
from xborder.cli.commands._profiles import Injected
from xborder.cli.errors import AdminFailed, AdminTokenRefused, AdminUnreachable
from xborder.config import Settings
from xborder.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_ADMIN_URL = "http://127.0.0.1:8080"
ADMIN_PREFIX = "/admin/v1"


def admin_options(func: F) -> F:
    """``--url`` and ``--token`` of the admin API."""
    func = click.option(
        "--token",
        envvar="XBORDER_ADMIN_TOKEN",
        help="The server's admin token [env: XBORDER_ADMIN_TOKEN].",
    )(func)
    return click.option(
        "--url",
        envvar="XBORDER_ADMIN_URL",
        default=DEFAULT_ADMIN_URL,
        show_default=True,
        help="The server's base URL [env: XBORDER_ADMIN_URL].",
    )(func)


def call(url: str, token: str | None, method: str, path: str, body: Any = None) -> Any:
    """One admin API request; the decoded JSON answer, or :class:`AdminFailed`."""
    injected = click.get_current_context().find_object(Injected)
    transport = injected.transport if injected is not None else None
    headers = {"Authorization": f"Bearer {token or _development_token() or ''}"}
    try:
        with httpx.Client(base_url=url, transport=transport, timeout=30, trust_env=False) as http:
            response = http.request(method, ADMIN_PREFIX + path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise AdminUnreachable(f"no answer from {url}: {exc}") from exc
    document = _decode(response)
    if response.status_code >= 400:
        failure = AdminTokenRefused if response.status_code == 401 else AdminFailed
        raise failure(f"{response.status_code}: {_description(document)}")
    return document


def _development_token() -> str | None:
    """The token ``xborder serve`` keeps for a development deployment in its data directory."""
    try:
        path = Settings.from_env().data_dir / TOKEN_FILE
        return path.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError, ConfigError):
        return None


def echo(document: Any) -> None:
    """Print an answer as indented JSON."""
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"text": response.text}


def _description(document: Any) -> str:
    try:
        error = document["Errors"]["Error"]
        error = error[0] if isinstance(error, list) else error
        return f"{error['ReasonCode']}: {error['Description']} (source {error['Source']!r})"
    except (KeyError, TypeError, IndexError):
        return json.dumps(document)
