"""The security settings (D11, D12): XBORDER_AUTH, XBORDER_PUBLIC_URL, XBORDER_TRUST_FORWARDED,
XBORDER_DEV_PROJECT, and where keys live."""

from __future__ import annotations

from pathlib import Path

import pytest

from xborder.config import Settings
from xborder.errors import ConfigError


def test_defaults_are_safe() -> None:
    settings = Settings.from_env({})
    assert settings.auth is True and settings.trust_forwarded is False
    assert settings.public_url is None and settings.dev_project is True
    assert settings.keys_dir == Path("data/keys") and settings.dev_dir == Path("data/dev")


def test_values_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "XBORDER_AUTH": "off",
            "XBORDER_PUBLIC_URL": "https://xbs.example.com:8443/gw/",
            "XBORDER_TRUST_FORWARDED": "on",
            "XBORDER_DEV_PROJECT": "no",
            "XBORDER_DATA_DIR": "/srv/xborder",
        }
    )
    assert (settings.auth, settings.trust_forwarded, settings.dev_project) == (False, True, False)
    assert settings.public_url == "https://xbs.example.com:8443/gw"
    assert settings.keys_dir == Path("/srv/xborder/keys")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTH", "maybe"),
        ("PUBLIC_URL", "xbs.example.com"),
        ("PUBLIC_URL", "ftp://xbs.example.com"),
        ("PUBLIC_URL", "https://xbs.example.com/?a=1"),
        ("PUBLIC_URL", "https:///path"),
        ("TRUST_FORWARDED", "2"),
    ],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"XBORDER_{name}"):
        Settings.from_env({f"XBORDER_{name}": value})
