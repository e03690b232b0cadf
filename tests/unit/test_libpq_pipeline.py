"""How LibpqCursor reads a pipeline's results (xborder.storage.libpq), against a stand-in for
libpq's connection: every result up to the sync, a wait on the socket while libpq is busy, and
a lost connection raised instead of waited on for ever. The real pipeline runs against
PostgreSQL in tests/integration/test_libpq.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from psycopg import errors, pq

from xborder.storage import libpq
from xborder.storage.libpq import LibpqCursor


@dataclass
class Result:
    status: pq.ExecStatus


OK = Result(pq.ExecStatus.COMMAND_OK)
ROWS = Result(pq.ExecStatus.TUPLES_OK)
SYNC = Result(pq.ExecStatus.PIPELINE_SYNC)


@dataclass
class PGconn:
    """What ``_until_sync`` uses of psycopg's ``PGconn``."""

    results: Iterator[Result | None]
    busy: list[bool] = field(default_factory=list)  # is_busy() answers, then False
    status: pq.ConnStatus = pq.ConnStatus.OK
    socket: int = 7
    error_message: bytes = b"server closed the connection unexpectedly"
    consumed: int = 0

    def is_busy(self) -> bool:
        return self.busy.pop(0) if self.busy else False

    def consume_input(self) -> None:
        self.consumed += 1

    def get_result(self) -> Any:
        return next(self.results)


def cursor(pgconn: PGconn) -> LibpqCursor:
    made = object.__new__(LibpqCursor)
    made._pgconn = pgconn  # type: ignore[assignment]
    made._encoding = "utf-8"
    return made


def test_every_result_up_to_the_sync_in_order() -> None:
    pgconn = PGconn(iter([OK, None, OK, None, ROWS, None, SYNC]))
    found: list[Any] = cursor(pgconn)._until_sync()
    assert found == [OK, OK, ROWS]


def test_it_waits_on_the_socket_while_libpq_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[int] = []
    monkeypatch.setattr(libpq, "_wait_readable", waited.append)
    pgconn = PGconn(iter([OK, None, ROWS, None, SYNC]), busy=[True, True, False])
    found: list[Any] = cursor(pgconn)._until_sync()
    assert found == [OK, ROWS]
    assert waited == [7, 7] and pgconn.consumed == 2


def test_two_ends_without_a_sync_are_a_lost_connection() -> None:
    pgconn = PGconn(iter([OK, None, None, SYNC]))
    with pytest.raises(errors.OperationalError, match="lost: server closed"):
        cursor(pgconn)._until_sync()


def test_an_end_on_a_bad_connection_is_a_lost_connection() -> None:
    pgconn = PGconn(iter([None, SYNC]), status=pq.ConnStatus.BAD)
    with pytest.raises(errors.OperationalError, match="the connection is lost"):
        cursor(pgconn)._until_sync()
