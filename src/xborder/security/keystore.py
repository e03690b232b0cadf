"""The server's own encryption key pairs, kept in a directory (D12).

Clients encrypt request payloads to the certificate of the *primary* key; every key in the
directory decrypts, chosen by the JWE ``kid``, so a rotation never breaks a client that has
not fetched the new certificate yet. Layout (``DATA/keys`` by default)::

    <kid>.key.pem    the private key, PKCS#8 PEM, mode 0600 (never printed or logged)
    <kid>.cert.pem   its self-signed certificate, the one clients encrypt to
    primary          the kid of the primary key
    .lock            serialises changes between processes (``flock``)

Files appear by atomic rename, so a server process reloading the directory never reads a
half-written key. Several processes may share the directory; the one that finds it empty
first creates the first key.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from xborder.errors import ConfigError
from xborder.security.keys import (
    Keyring,
    certificate_pem,
    fingerprint,
    generate_key_pair_and_certificate,
    load_certificate,
    load_private_key,
    write_private_key,
)

__all__ = ["LiveKeyring", "ServerKey", "ServerKeyStore"]

log = logging.getLogger("xborder.security")

KEY_SUFFIX = ".key.pem"
CERT_SUFFIX = ".cert.pem"
PRIMARY = "primary"
COMMON_NAME = "xborder payload encryption"
CERTIFICATE_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class ServerKey:
    """A server key as listed: its id, certificate and whether clients encrypt to it."""

    kid: str
    certificate: x509.Certificate
    primary: bool


class ServerKeyStore:
    """The key directory: create, rotate, retire and load the server's key pairs."""

    def __init__(self, directory: Path, *, key_size: int = 2048) -> None:
        self.directory = directory
        self._key_size = key_size

    def ensure(self) -> str:
        """Create the directory and a first key pair when there is none; return the primary
        kid. Safe to call from several processes at once."""
        with self._locked():
            if not self._key_files():
                return self._add_key()
            return self._primary_kid()

    def rotate(self) -> str:
        """Add a new key pair and make it primary; older keys keep decrypting. Returns its kid."""
        with self._locked():
            return self._add_key()

    def retire(self, kid: str) -> None:
        """Delete a key pair that is not primary; requests encrypted to it stop decrypting.

        Raises ``ConfigError`` for an unknown kid or the primary key.
        """
        with self._locked():
            if not (self.directory / f"{kid}{KEY_SUFFIX}").is_file():
                raise ConfigError(f"no server key {kid}")
            if kid == self._primary_kid():
                raise ConfigError("that is the primary key: run `xborder keys rotate` first")
            (self.directory / f"{kid}{KEY_SUFFIX}").unlink()
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{kid}{CERT_SUFFIX}").unlink()

    def keyring(self) -> Keyring:
        """Every key of the directory, the primary one marked (empty when none exists)."""
        primary = self._primary_kid() if self._key_files() else None
        ring = Keyring()
        for path in self._key_files():
            _warn_if_readable_by_others(path)
            key = load_private_key(path.read_bytes())
            if fingerprint(key) != path.name.removesuffix(KEY_SUFFIX):
                raise ConfigError(f"{path.name} does not hold the key its name says")
            ring.add(key, primary=fingerprint(key) == primary)
        return ring

    def keys(self) -> list[ServerKey]:
        """The certificates of every key, primary first (none before the first start)."""
        if not self._key_files():
            return []
        primary = self._primary_kid()
        listed = [
            ServerKey(kid, load_certificate(self.directory / f"{kid}{CERT_SUFFIX}"), kid == primary)
            for kid in (p.name.removesuffix(KEY_SUFFIX) for p in self._key_files())
        ]
        return sorted(listed, key=lambda k: (not k.primary, k.kid))

    def primary_certificate(self) -> ServerKey:
        """The key clients should encrypt to. Raises ``ConfigError`` when there is none."""
        for key in self.keys():
            if key.primary:
                return key
        raise ConfigError(f"no server key in {self.directory}")

    def state(self) -> tuple[str, ...]:
        """Changes whenever a key is added, retired or promoted (for cheap reload checks)."""
        if not self.directory.is_dir():
            return ()
        return (*sorted(p.name for p in self._key_files()), self._read_primary() or "")

    def _add_key(self) -> str:
        key, certificate = generate_key_pair_and_certificate(
            COMMON_NAME, CERTIFICATE_DAYS, key_size=self._key_size
        )
        kid = fingerprint(key)
        self._write_atomically(f"{kid}{CERT_SUFFIX}", certificate_pem(certificate))
        temporary = self.directory / f".{kid}.{secrets.token_hex(4)}.tmp"
        write_private_key(temporary, key)
        temporary.rename(self.directory / f"{kid}{KEY_SUFFIX}")
        self._write_atomically(PRIMARY, kid.encode("ascii"))
        log.info("server encryption key %s created", kid)
        return kid

    def _primary_kid(self) -> str:
        files = self._key_files()
        named = self._read_primary()
        kids = [p.name.removesuffix(KEY_SUFFIX) for p in files]
        if named in kids:
            return named
        if not kids:
            raise ConfigError(f"no server key in {self.directory}")
        return max(files, key=lambda p: p.stat().st_mtime_ns).name.removesuffix(KEY_SUFFIX)

    def _read_primary(self) -> str | None:
        try:
            return (self.directory / PRIMARY).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None

    def _key_files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(
            p
            for p in self.directory.iterdir()
            if p.name.endswith(KEY_SUFFIX) and not p.name.startswith(".")
        )

    def _write_atomically(self, name: str, data: bytes) -> None:
        temporary = self.directory / f".{name}.{secrets.token_hex(4)}.tmp"
        temporary.write_bytes(data)
        temporary.replace(self.directory / name)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


class LiveKeyring:
    """The keyring a running server decrypts with, kept in step with the key directory.

    Each use compares the directory's listing with the one last loaded (a few microseconds,
    against about a millisecond for the RSA decryption) and reloads on a change. So a key
    added by ``xborder keys rotate`` in another process decrypts from the first request
    naming it, and a retired key stops decrypting at once, without a restart.
    """

    def __init__(self, store: ServerKeyStore) -> None:
        self._store = store
        self._ring: Keyring | None = None
        self._state: tuple[str, ...] = ()

    def current(self) -> Keyring:
        """The keyring (the first call creates a key when the directory has none)."""
        if self._ring is None:
            self._store.ensure()
            return self._load()
        if self._store.state() != self._state:
            return self._load()
        return self._ring

    def _load(self) -> Keyring:
        state = self._store.state()
        ring = self._store.keyring()
        self._ring, self._state = ring, state
        return ring


def _warn_if_readable_by_others(path: Path) -> None:
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users: chmod 600 it", path.name)
