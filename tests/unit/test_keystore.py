"""xborder.security.keystore: the server's encryption keys in the data directory (D12)."""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from xborder.errors import ConfigError
from xborder.security import jwe
from xborder.security.keys import fingerprint
from xborder.security.keystore import CERT_SUFFIX, KEY_SUFFIX, LiveKeyring, ServerKeyStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path: Path) -> ServerKeyStore:
    return ServerKeyStore(tmp_path / "keys")


def test_ensure_creates_one_key_with_private_modes(store: ServerKeyStore) -> None:
    kid = store.ensure()
    assert store.ensure() == kid  # idempotent
    assert mode(store.directory) == 0o700
    assert mode(store.directory / f"{kid}{KEY_SUFFIX}") == 0o600
    certificate = store.primary_certificate()
    assert (certificate.kid, certificate.primary) == (kid, True)
    assert fingerprint(certificate.certificate) == kid
    assert list(store.keyring()) == [kid] and store.keyring().primary_kid == kid
    assert sorted(p.name for p in store.directory.iterdir() if not p.name.startswith(".")) == [
        f"{kid}{CERT_SUFFIX}",
        f"{kid}{KEY_SUFFIX}",
        "primary",
    ]


def test_concurrent_first_starts_create_a_single_key(store: ServerKeyStore) -> None:
    kids: list[str] = []
    threads = [threading.Thread(target=lambda: kids.append(store.ensure())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(kids)) == 1 and len(store.keys()) == 1


def test_rotate_adds_a_primary_and_keeps_the_old_key(store: ServerKeyStore) -> None:
    old = store.ensure()
    new = store.rotate()
    ring = store.keyring()
    assert set(ring) == {old, new} and ring.primary_kid == new
    assert [(k.kid, k.primary) for k in store.keys()] == [(new, True), (old, False)]
    compact = jwe.encrypt(b"{}", ring[old].public_key(), kid=old, cty="application/json")
    assert jwe.decrypt(compact, ring)[0] == b"{}"


def test_retire(store: ServerKeyStore) -> None:
    old = store.ensure()
    with pytest.raises(ConfigError, match="primary"):
        store.retire(old)
    new = store.rotate()
    store.retire(old)
    assert list(store.keyring()) == [new]
    assert not (store.directory / f"{old}{CERT_SUFFIX}").exists()
    with pytest.raises(ConfigError, match="no server key"):
        store.retire(old)


def test_a_renamed_key_file_is_refused(store: ServerKeyStore) -> None:
    kid = store.ensure()
    (store.directory / f"{kid}{KEY_SUFFIX}").rename(store.directory / f"{'0' * 64}{KEY_SUFFIX}")
    with pytest.raises(ConfigError, match="does not hold"):
        store.keyring()


def test_key_readable_by_others_is_warned_about(
    store: ServerKeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    kid = store.ensure()
    os.chmod(store.directory / f"{kid}{KEY_SUFFIX}", 0o644)
    with caplog.at_level(logging.WARNING, logger="xborder.security"):
        store.keyring()
    assert "readable by other users" in caplog.text
    assert "PRIVATE" not in caplog.text


def test_empty_directory(store: ServerKeyStore) -> None:
    assert store.keys() == [] and len(store.keyring()) == 0 and store.state() == ()
    with pytest.raises(ConfigError):
        store.primary_certificate()


def test_primary_falls_back_to_the_newest_key(store: ServerKeyStore) -> None:
    store.ensure()
    newest = store.rotate()
    (store.directory / "primary").unlink()
    assert store.keyring().primary_kid == newest


def test_live_keyring_follows_the_directory(store: ServerKeyStore) -> None:
    live = LiveKeyring(store)
    first = live.current()  # creates the first key
    assert len(first) == 1 and live.current() is first  # unchanged: no reload
    new = ServerKeyStore(store.directory).rotate()  # another process
    assert set(live.current()) == {first.primary_kid, new}
    ServerKeyStore(store.directory).retire(str(first.primary_kid))
    assert list(live.current()) == [new]
