"""Following a table whose ids are handed out before commit, without missing a row (issue 14).

The live streams (``GET /admin/v1/stream``, the console's feed) read what is new by id: the
request journal's segments, the outbox's events, the delivery attempts. Ids come from the
database as a row is inserted, and commits need not come in id order: on PostgreSQL two
server processes' groups can take ids 10 and 11 and commit 11 first. A reader that then read
"above 11" would never see 10.

A :class:`Follower` keeps the highest id read, and the ids below it that it has not seen yet
(the *gaps* it read past). Each poll reads above the highest, and asks again for the gaps;
a gap that no row fills within :data:`PATIENCE` seconds (an id a rolled-back unit took, a
sequence that skipped ahead) is given up. Ids are dense where the reader looks: the outbox's
and the delivery attempts' keys, and the journal's segment numbers (an entry's id is its
segment's number × 1000 + its place, so its *key* is the segment's number).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

PATIENCE = 10.0
"""Seconds a gap is asked for again: far longer than any group's transaction lasts."""

MAX_GAPS = 1000
"""The most gaps kept; beyond, the oldest are given up (a sequence that jumped far)."""


class Follower:
    """Where one live feed stands in an id sequence (see the module docstring)."""

    def __init__(
        self,
        last: int,
        key: Callable[[int], int] = lambda row_id: row_id,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.last = last  # the highest row id read
        self._key = key
        self._clock = clock
        self._gaps: dict[int, float] = {}  # key not seen yet -> when to give it up

    def gaps(self) -> list[int]:
        """The keys still awaited, lowest first (those past their patience are dropped)."""
        now = self._clock()
        self._gaps = {key: until for key, until in self._gaps.items() if until > now}
        return sorted(self._gaps)

    def saw(self, row_ids: Iterable[int]) -> None:
        """Note rows read: those above :attr:`last` (in id order) and those that filled a gap."""
        for row_id in row_ids:
            key = self._key(row_id)
            self._gaps.pop(key, None)
            if row_id <= self.last:
                continue
            passed = range(self._key(self.last) + 1, key)
            if passed:
                until = self._clock() + PATIENCE
                for missing in passed[-MAX_GAPS:]:
                    self._gaps[missing] = until
            self.last = row_id
        if len(self._gaps) > MAX_GAPS:
            for oldest in sorted(self._gaps)[: len(self._gaps) - MAX_GAPS]:
                del self._gaps[oldest]
