"""Settings, read once from the environment (``XBORDER_*``) and then passed explicitly.

Nothing else in xborder reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from xborder.errors import ConfigError

MAX_BODY_BYTES = 1024 * 1024
"""Largest accepted request body (D9)."""

DEFAULT_NON_CANCELLABLE_PROVIDERS = frozenset({"nocancel"})
"""Sandbox default: ``ewallet:…;sp=nocancel`` stands for a mobile-money provider that does
not allow cancellation outside InsufficientBalance, so D3's last branch can be exercised."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a running xborder."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    database_url: str | None = None
    workers: int = 1
    pool_size: int = 8
    request_threads: int | None = None  # PostgreSQL reader threads per worker; None: pool_size
    sqlite_synchronous: str = "NORMAL"
    non_cancellable_providers: frozenset[str] = DEFAULT_NON_CANCELLABLE_PROVIDERS
    access_log: bool = True
    log_level: str = "info"
    auth: bool = True  # D11; off: unsigned requests reach sandbox partners only
    public_url: str | None = None  # scheme://host[:port][/prefix] clients address and sign
    trust_forwarded: bool = False  # take scheme and host from the proxy's Forwarded headers
    dev_project: bool = True  # `serve` on an empty database creates a sandbox dev project
    # D16, D17: lifecycle timing, the controllable clock, the scheduler and the admin API
    clock: str = "system"  # or "controllable": wall clock + an offset kept in the database
    deployment: str = "development"  # "production" turns the admin API off unless admin=on
    admin: bool | None = None  # None: on, except on a production deployment
    admin_token: str | None = None  # bearer token of the admin API; none: every call is 401
    scheduler: bool = True  # run the lifecycle scheduler thread in each server process
    scheduler_interval: float = 1.0  # seconds between scheduler ticks
    max_queue_seconds: int = 86_400  # how long a payment may wait in InsufficientBalance
    # D14: the status-change push sender thread (one per server process, claim-guarded)
    webhooks: bool = True
    webhook_interval: float = 1.0  # seconds between sender ticks
    webhook_timeout: float = 10.0  # seconds per delivery attempt
    webhook_backoff: float = 1.0  # seconds before the first retry; doubles at each retry
    lifecycle_delays: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # issue 14: the request journal (written off the request path), kept by count and age
    journal: bool = True
    journal_max_rows: int = 5000
    journal_max_age: int = 86_400  # seconds; XBORDER_JOURNAL_MAX_AGE accepts 90s, 30m, 24h, 7d
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def admin_enabled(self) -> bool:
        """D17: the admin API is off by default on a production deployment."""
        return self.admin if self.admin is not None else self.deployment != "production"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xborder.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        """Where the server's own encryption key pairs live (D12)."""
        return self.data_dir / "keys"

    @property
    def dev_dir(self) -> Path:
        """Where the first run writes the dev project's client keys."""
        return self.data_dir / "dev"

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``XBORDER_*`` variables; unset ones keep their defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, cast in _VARIABLES.items():
            raw = env.get(f"XBORDER_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = _cast(name, raw, cast)
        return cls(**values)


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def _providers(raw: str) -> frozenset[str]:
    return frozenset(p.strip() for p in raw.split(",") if p.strip())


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError(raw)
    return value


def _public_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(raw)
    return raw.strip().rstrip("/")


def _choice(*allowed: str) -> Any:
    def cast(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(raw)
        return value

    return cast


def _interval(raw: str) -> float:
    value = float(raw)
    if not 0.05 <= value <= 3600:
        raise ValueError(raw)
    return value


def _delays(raw: str) -> dict[str, tuple[int, int]]:
    """``MOBILE_MONEY=120/120,CARD=300/600``: seconds in Processing / EligibleForSettlement."""
    delays: dict[str, tuple[int, int]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        channel, _, pair = item.partition("=")
        processing, _, settlement = pair.partition("/")
        delays[channel.strip().upper()] = (int(processing), int(settlement))
        if min(delays[channel.strip().upper()]) < 0:
            raise ValueError(raw)
    return delays


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def _duration(raw: str) -> int:
    """Seconds, written as a number or with a unit: ``3600``, ``90s``, ``30m``, ``24h``, ``7d``."""
    text = raw.strip().lower()
    unit = _UNITS.get(text[-1:], 0)
    value = int(text[:-1] if unit else text) * (unit or 1)
    if value < 1:
        raise ValueError(raw)
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError(raw)
    return value


_VARIABLES: dict[str, Any] = {
    "host": str,
    "port": _port,
    "data_dir": Path,
    "database_url": str,
    "workers": _positive,
    "pool_size": _positive,
    "request_threads": _positive,
    "sqlite_synchronous": str,
    "non_cancellable_providers": _providers,
    "access_log": _bool,
    "log_level": str,
    "auth": _bool,
    "public_url": _public_url,
    "trust_forwarded": _bool,
    "dev_project": _bool,
    "clock": _choice("system", "controllable"),
    "deployment": _choice("development", "production"),
    "admin": _bool,
    "admin_token": str,
    "scheduler": _bool,
    "scheduler_interval": _interval,
    "max_queue_seconds": _positive,
    "webhooks": _bool,
    "webhook_interval": _interval,
    "webhook_timeout": _interval,
    "webhook_backoff": _interval,
    "lifecycle_delays": _delays,
    "journal": _bool,
    "journal_max_rows": _positive,
    "journal_max_age": _duration,
}


def _cast(name: str, raw: str, cast: Any) -> Any:
    try:
        return cast(raw)
    except ValueError as exc:
        raise ConfigError(f"XBORDER_{name.upper()}={raw!r} is not valid") from exc
