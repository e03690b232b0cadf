"""The console's credentials (issue 14): login keys, sessions, CSRF tokens, and the
development deployment's admin token file."""

from __future__ import annotations

import stat
from pathlib import Path

from xborder.api.console.session import LINK_SECONDS, SESSION_SECONDS, ConsoleKeys
from xborder.cli.commands._console_login import console_announcement, with_console_token
from xborder.config import Settings

NOW = 1_800_000_000.0


def test_login_keys_hold_only_under_their_token_and_until_they_expire() -> None:
    keys = ConsoleKeys("token-a")
    key = keys.login_key(NOW)
    checked = keys.check_login_key(key, NOW + 1)
    assert checked is not None and checked.expires == int(NOW) + LINK_SECONDS
    assert keys.check_login_key(key, NOW + LINK_SECONDS + 1) is None
    assert ConsoleKeys("token-b").check_login_key(key, NOW) is None
    expires, nonce, mac = key.split(".")
    for forged in (f"{int(expires) + 1}.{nonce}.{mac}", f"{expires}.x{nonce}.{mac}", "", "1.2"):
        assert keys.check_login_key(forged, NOW) is None


def test_sessions_and_csrf_tokens() -> None:
    keys = ConsoleKeys("token-a")
    session = keys.session(NOW)
    assert keys.check_session(session, NOW + SESSION_SECONDS - 1)
    assert not keys.check_session(session, NOW + SESSION_SECONDS + 1)
    assert not ConsoleKeys("token-b").check_session(session, NOW)
    assert not keys.check_session(None) and not keys.check_session("abc.def")
    assert keys.check_csrf(session, keys.csrf(session))
    assert not keys.check_csrf(keys.session(NOW + 5), keys.csrf(session))


def test_credentials_with_other_digits_or_letters_are_refused_not_failed() -> None:
    # "²" passes str.isdigit but not int(); compare_digest refuses non-ASCII str
    keys = ConsoleKeys("token-a")
    session = keys.session(NOW)
    expires, _, mac = session.partition(".")
    for forged in (f"²{expires}.{mac}", f"{expires}.é{mac}", "².x"):
        assert not keys.check_session(forged, NOW)
    assert keys.check_login_key(f"².nonce.{mac}", NOW) is None
    assert keys.check_login_key(f"{expires}.nonce.é", NOW) is None
    assert not keys.check_csrf(session, "é" * 64)


def test_a_development_deployment_keeps_its_token_in_the_data_directory(tmp_path: Path) -> None:
    settings = with_console_token(Settings(data_dir=tmp_path))
    token_file = tmp_path / "admin-token"
    assert settings.admin_token and token_file.read_text().strip() == settings.admin_token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert with_console_token(Settings(data_dir=tmp_path)).admin_token == settings.admin_token
    announced = console_announcement(settings, "http://127.0.0.1:8080")
    assert announced is not None and "/console/login?key=" in announced
    assert settings.admin_token not in announced


def test_configured_or_production_deployments_are_left_alone(tmp_path: Path) -> None:
    configured = Settings(data_dir=tmp_path, admin_token="mine")
    assert with_console_token(configured).admin_token == "mine"
    production = Settings(data_dir=tmp_path, deployment="production")
    assert with_console_token(production).admin_token is None
    assert console_announcement(production.replace(admin_token="x"), "http://h") is None
    assert not (tmp_path / "admin-token").exists()
