"""Connection settings of the client commands, and the client built from them.

Each setting comes from, in this order: a command-line flag, an ``XBORDER_*`` variable, the
chosen profile of the config file, a default. The config file is TOML::

    default_profile = "local"

    [profiles.local]
    base_url = "http://127.0.0.1:8080"
    partner_id = "MYBANK_SANDBOX1"

    [profiles.mc-sandbox]
    base_url = "https://sandbox.api.mastercard.com"
    partner_id = "MYBANK_SANDBOX1"
    consumer_key = "…"
    signing_key = "~/keys/mybank-sandbox.p12"      # PKCS#12 (.p12/.pfx) or PEM
    signing_key_password = "keystorepassword"
    encryption_certificate = "~/keys/mastercard-encryption.pem"
    decryption_key = "~/keys/mybank-decryption.p12"
    decryption_key_password = "…"
    format = "json"                                # or "xml"
    encrypt = true

    [profiles.mc-uk-sandbox]                       # a PSD2 UK project (D23)
    base_url = "http://127.0.0.1:8080"
    partner_id = "SANDBOX_PSD2_OI_Plain_1"
    region = "uk"                                  # OAuth 2.0 tokens instead of OAuth 1.0a
    consumer_key = "…"
    signing_key = "~/keys/mybank-uk.p12"           # or a PEM key with signing_certificate

Its path is ``--config``, else ``XBORDER_CONFIG``, else ``$XDG_CONFIG_HOME/xborder/profiles.toml``
(``~/.config/xborder/profiles.toml``). Relative key paths are relative to the file.
The server's own variables (``XBORDER_HOST``, ``XBORDER_PORT``, ``XBORDER_DATABASE_URL``,
``XBORDER_DATA_DIR``, ``XBORDER_WORKERS``) are never read here.
"""

from __future__ import annotations

import functools
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx

from xborder.client import (
    OAuth1Auth,
    PayloadEncryption,
    Psd2Auth,
    RequestTokenAuth,
    RetryPolicy,
    XborderClient,
)
from xborder.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
KEYS = (
    "base_url",
    "partner_id",
    "region",
    "consumer_key",
    "signing_key",
    "signing_certificate",
    "signing_key_password",
    "encryption_certificate",
    "decryption_key",
    "decryption_key_password",
    "format",
    "encrypt",
    "timeout",
    "retries",
)
_PATHS = ("signing_key", "signing_certificate", "encryption_certificate", "decryption_key")
REGIONS = ("global", "eu", "uk")


@dataclass(frozen=True)
class Connection:
    """Everything needed to build a client; ``None`` means "not set"."""

    base_url: str | None = None
    partner_id: str | None = None
    region: str | None = None  # D23: eu and uk projects sign with OAuth 2.0 tokens
    consumer_key: str | None = None
    signing_key: str | None = None
    signing_certificate: str | None = None  # with a PEM signing key, for eu/uk (x5c)
    signing_key_password: str | None = None
    encryption_certificate: str | None = None
    decryption_key: str | None = None
    decryption_key_password: str | None = None
    format: str | None = None
    encrypt: bool | None = None
    timeout: float | None = None
    retries: int | None = None

    def over(self, below: Connection) -> Connection:
        """This connection, with unset values taken from ``below``."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in values.items():
            if value is None:
                values[name] = getattr(below, name)
        return Connection(**values)


@dataclass(frozen=True)
class Injected:
    """What a program embedding the CLI (or a test) may pass as ``obj`` to ``main``."""

    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep


_OPTIONS = (
    click.option("--profile", envvar="XBORDER_PROFILE", help="Profile of the config file."),
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="XBORDER_CONFIG",
        help="Config file [default: ~/.config/xborder/profiles.toml].",
    ),
    click.option("--base-url", envvar="XBORDER_BASE_URL", help=f"[default: {DEFAULT_BASE_URL}]"),
    click.option("--partner-id", envvar="XBORDER_PARTNER_ID", help="Partner id of the paths."),
    click.option("--consumer-key", envvar="XBORDER_CONSUMER_KEY", help="OAuth consumer key."),
    click.option(
        "--region",
        type=click.Choice(REGIONS),
        envvar="XBORDER_REGION",
        help="The project's region: eu and uk sign with OAuth 2.0 tokens [default: global].",
    ),
    click.option("--signing-key", envvar="XBORDER_SIGNING_KEY", help="PKCS#12 or PEM key."),
    click.option(
        "--signing-cert",
        "signing_certificate",
        envvar="XBORDER_SIGNING_CERT",
        help="Certificate of a PEM signing key (eu/uk projects only).",
    ),
    click.option(
        "--signing-key-password",
        envvar="XBORDER_SIGNING_KEY_PASSWORD",
        help="Keystore password (prefer the variable).",
    ),
    click.option(
        "--encryption-cert",
        "encryption_certificate",
        envvar="XBORDER_ENCRYPTION_CERT",
        help="Server's encryption certificate.",
    ),
    click.option(
        "--decryption-key", envvar="XBORDER_DECRYPTION_KEY", help="Our decryption key (.p12/PEM)."
    ),
    click.option(
        "--decryption-key-password",
        envvar="XBORDER_DECRYPTION_KEY_PASSWORD",
        help="Its keystore password (prefer the variable).",
    ),
    click.option(
        "--format",
        type=click.Choice(["json", "xml"]),
        envvar="XBORDER_FORMAT",
        help="Wire format [default: json].",
    ),
    click.option(
        "--encrypt/--no-encrypt",
        default=None,
        envvar="XBORDER_ENCRYPT",
        help="Payload encryption [default: off].",
    ),
    click.option("--timeout", type=float, envvar="XBORDER_TIMEOUT", help="Seconds [default: 40]."),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        envvar="XBORDER_RETRIES",
        help="Retries of a call whose outcome is unknown [default: 2].",
    ),
)
_OPTION_NAMES = ("profile", "config_path", *KEYS)


def connection_options(func: F) -> F:
    """Add the connection flags to a command; it receives them as ``settings``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {name: kwargs.pop(name) for name in _OPTION_NAMES}
        kwargs["settings"] = _Settings(flags.pop("profile"), flags.pop("config_path"), flags)
        return func(*args, **kwargs)

    command: Any = wrapper
    for option in reversed(_OPTIONS):
        command = option(command)
    return command  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Settings:
    profile: str | None
    config_path: Path | None
    flags: Mapping[str, Any]

    def resolve(self, wire_format: str | None = None) -> Connection:
        """Flags and variables over the profile over the defaults (``wire_format`` first)."""
        given = Connection(**dict(self.flags))
        if wire_format is not None:
            given = Connection(format=wire_format).over(given)
        return given.over(load_profile(self.config_path, self.profile)).over(_DEFAULTS)


_DEFAULTS = Connection(base_url=DEFAULT_BASE_URL, format="json", encrypt=False, timeout=40.0)


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/xborder/profiles.toml``, or under ``~/.config``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "xborder" / "profiles.toml"


def load_profile(path: Path | None, name: str | None) -> Connection:
    """One profile of the config file; nothing when there is no file and no name."""
    file = path or default_config_path()
    if not file.exists():
        if path is not None or name is not None:
            raise ConfigError(f"config file {file} does not exist")
        return Connection()
    profiles, default = _read_config(file)
    chosen = name or default or ("default" if "default" in profiles else None)
    if chosen is None:
        return Connection()
    if chosen not in profiles:
        raise ConfigError(f"no profile {chosen!r} in {file} (there are: {', '.join(profiles)})")
    return _profile(profiles[chosen], file, chosen)


def _read_config(file: Path) -> tuple[dict[str, Any], str | None]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {file}: {exc}") from exc
    profiles = data.get("profiles", {})
    default = data.get("default_profile")
    if not isinstance(profiles, dict) or not all(isinstance(p, dict) for p in profiles.values()):
        raise ConfigError(f"{file}: [profiles.NAME] tables expected")
    return profiles, default if isinstance(default, str) else None


def _profile(values: Mapping[str, Any], file: Path, name: str) -> Connection:
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ConfigError(f"{file}, profile {name}: unknown key(s) {', '.join(unknown)}")
    resolved = dict(values)
    for key in _PATHS:
        if isinstance(resolved.get(key), str):
            resolved[key] = str((file.parent / Path(resolved[key]).expanduser()).resolve())
    try:
        return Connection(**resolved)
    except TypeError as exc:  # pragma: no cover - keys were checked above
        raise ConfigError(f"{file}, profile {name}: {exc}") from exc


def open_client(connection: Connection, injected: Injected | None = None) -> XborderClient:
    """The client a resolved connection describes. Raises ``ConfigError``."""
    injected = injected or Injected()
    if not connection.partner_id:
        raise ConfigError("no partner id: use --partner-id, XBORDER_PARTNER_ID or a profile")
    if connection.format not in ("json", "xml"):
        raise ConfigError(f"format must be json or xml, not {connection.format!r}")
    return XborderClient(
        connection.base_url or DEFAULT_BASE_URL,
        connection.partner_id,
        auth=_auth(connection),
        wire_format="xml" if connection.format == "xml" else "json",
        encryption=_encryption(connection),
        timeout=connection.timeout or 40.0,
        retry=RetryPolicy(attempts=1 + (2 if connection.retries is None else connection.retries)),
        transport=injected.transport,
        sleep=injected.sleep,
    )


def _auth(connection: Connection) -> httpx.Auth | None:
    if not connection.consumer_key and not connection.signing_key:
        return None
    if not (connection.consumer_key and connection.signing_key):
        raise ConfigError("signing needs both a consumer key and a signing key")
    if connection.region not in (None, *REGIONS):
        raise ConfigError(f"region must be one of {', '.join(REGIONS)}, not {connection.region!r}")
    if connection.region in ("eu", "uk"):
        return Psd2Auth(_request_token_auth(connection, connection.consumer_key))  # D23
    return OAuth1Auth.from_file(
        connection.consumer_key,
        Path(connection.signing_key).expanduser(),
        connection.signing_key_password,
    )


def _request_token_auth(connection: Connection, consumer_key: str) -> RequestTokenAuth:
    """A PKCS#12 keystore carries the certificate; a PEM key needs ``signing_certificate``."""
    key_path = Path(str(connection.signing_key)).expanduser()
    if connection.signing_certificate is None:
        return RequestTokenAuth.from_pkcs12(consumer_key, key_path, connection.signing_key_password)
    certificate_path = Path(connection.signing_certificate).expanduser()
    try:
        key_pem, certificate_pem = key_path.read_bytes(), certificate_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the signing key or certificate: {exc.strerror}") from exc
    return RequestTokenAuth(consumer_key, key_pem, certificate_pem)


def _encryption(connection: Connection) -> PayloadEncryption | None:
    if not connection.encrypt:
        return None
    if not (connection.encryption_certificate and connection.decryption_key):
        raise ConfigError("encryption needs an encryption certificate and a decryption key")
    return PayloadEncryption(
        Path(connection.encryption_certificate).expanduser(),
        Path(connection.decryption_key).expanduser(),
        connection.decryption_key_password,
    )
