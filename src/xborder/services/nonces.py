"""OAuth nonce replay detection shared by every server process (D11).

The database is the truth: a nonce is accepted only when this process inserted its row, so
two processes behind one load balancer never both accept it. A small bounded in-process
cache refuses replays this process has already seen without a database round trip.

The store stays bounded: a nonce needs remembering only while a request carrying its
timestamp could still pass the timestamp window, so rows whose timestamp is older than the
window (plus a margin for clock differences between processes) are purged every
``purge_every`` accepted nonces, or after ``purge_interval`` seconds, whichever comes first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from xborder.security.oauth1 import DEFAULT_TOLERANCE
from xborder.services.payments import UowFactory
from xborder.services.unit_of_work import AbstractUnitOfWork

CLOCK_MARGIN = 60
"""Seconds of clock difference between server processes the purge allows for."""


class NonceGuard:
    """Check-and-record of ``(consumer key, nonce)`` pairs; safe to share between threads."""

    def __init__(
        self,
        uow_factory: UowFactory,
        *,
        tolerance: int = DEFAULT_TOLERANCE,
        cache_size: int = 4096,
        purge_every: int = 256,
        purge_interval: int = 60,
    ) -> None:
        self._uow_factory = uow_factory
        self._retention = tolerance + CLOCK_MARGIN
        self._cache_size = cache_size
        self._purge_every = purge_every
        self._purge_interval = purge_interval
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._lock = threading.Lock()
        self._since_purge = 0
        self._last_purge: float | None = None

    def check_and_record(self, consumer_key: str, nonce: str, timestamp: int, now: float) -> bool:
        """Record the nonce in a transaction of its own; False when it was seen before."""
        if self.seen(consumer_key, nonce, now):
            return False
        with self._uow_factory() as uow:
            fresh = self.record(uow, consumer_key, nonce, timestamp, now)
            uow.commit()
        if fresh:
            self.remember(consumer_key, nonce, timestamp)
        return fresh

    def seen(self, consumer_key: str, nonce: str, now: float) -> bool:
        """Whether this process has already accepted the nonce (no database needed)."""
        with self._lock:
            seen = self._seen.get((consumer_key, nonce))
        return seen is not None and seen >= now - self._retention

    def record(
        self, uow: AbstractUnitOfWork, consumer_key: str, nonce: str, timestamp: int, now: float
    ) -> bool:
        """Record the nonce in ``uow`` (the request's own transaction); False when any process
        recorded it before. Purges expired nonces now and then, in the same transaction."""
        fresh = uow.nonces.record(consumer_key, nonce, timestamp)
        if fresh and self._purge_due(now):
            uow.nonces.purge(int(now) - self._retention)
        return fresh

    def remember(self, consumer_key: str, nonce: str, timestamp: int) -> None:
        """Keep an accepted nonce in the bounded in-process cache (after its commit)."""
        self._remember((consumer_key, nonce), timestamp)

    def _purge_due(self, now: float) -> bool:
        with self._lock:
            self._since_purge += 1
            stale = self._last_purge is None or now - self._last_purge >= self._purge_interval
            if self._since_purge < self._purge_every and not stale:
                return False
            self._since_purge, self._last_purge = 0, now
            return True

    def _remember(self, key: tuple[str, str], timestamp: int) -> None:
        with self._lock:
            self._seen[key] = timestamp
            self._seen.move_to_end(key)
            while len(self._seen) > self._cache_size:
                self._seen.popitem(last=False)
