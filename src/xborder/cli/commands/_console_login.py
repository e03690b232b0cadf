"""What ``xborder serve`` does for the web console of a development deployment (issue 14):
an admin token kept in ``DATA/admin-token`` when none is configured, and a one-time login
link printed at each start."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from xborder.api.console.session import ConsoleKeys
from xborder.config import Settings

TOKEN_FILE = "admin-token"  # noqa: S105 - a file name, not a secret


def with_console_token(settings: Settings) -> Settings:
    """On a development deployment with the admin API on and no ``XBORDER_ADMIN_TOKEN``, the
    token of ``DATA/admin-token`` (made once, mode 0600); otherwise ``settings`` unchanged."""
    if settings.admin_token or not settings.admin_enabled or settings.deployment != "development":
        return settings
    path = settings.data_dir / TOKEN_FILE
    return settings.replace(admin_token=_read_or_create(path))


def _read_or_create(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        token = ""
    if token:
        return token
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(token + "\n")
    return token


def console_announcement(settings: Settings, base_url: str) -> str | None:
    """The console's URL with a one-time login link, for a development deployment only."""
    if settings.deployment != "development" or not settings.admin_enabled:
        return None
    if not settings.admin_token:
        return None
    key = ConsoleKeys(settings.admin_token).login_key()
    return (
        f"xborder console: {base_url}/console/\n"
        f"  one-time login link (valid 24 h): {base_url}/console/login?key={key}\n"
        f"  later: log in with the admin token ({settings.data_dir / TOKEN_FILE}"
        " unless XBORDER_ADMIN_TOKEN is set)"
    )
