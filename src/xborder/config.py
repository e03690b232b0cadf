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
    sqlite_synchronous: str = "NORMAL"
    non_cancellable_providers: frozenset[str] = DEFAULT_NON_CANCELLABLE_PROVIDERS
    access_log: bool = True
    log_level: str = "info"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or an SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xborder.db').resolve()}"

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
    "sqlite_synchronous": str,
    "non_cancellable_providers": _providers,
    "access_log": _bool,
    "log_level": str,
}


def _cast(name: str, raw: str, cast: Any) -> Any:
    try:
        return cast(raw)
    except ValueError as exc:
        raise ConfigError(f"XBORDER_{name.upper()}={raw!r} is not valid") from exc
