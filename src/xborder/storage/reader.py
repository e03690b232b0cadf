"""Reads of the API that record nothing (an unsigned retrieve): one read transaction each,
never queued behind the writer.

On SQLite the read runs inline on the event loop, in a transaction of its own on a connection
the reader keeps for the loop's reads (WAL: readers never wait for the writer, nor it for
them), so a read does not pay for a pool checkout and check-in. On PostgreSQL it runs
on one of a few reader threads, each with its own pooled connection, so the loop never waits
on the network.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.engine import Engine

from xborder.services.payments import UowFactory
from xborder.storage.transaction import Transaction
from xborder.storage.unit_of_work import NestedUowFactory

T = TypeVar("T")


def run_read(engine: Engine, unit: Callable[[UowFactory], T], held: Any = None) -> T:
    """Run ``unit`` in one read transaction (on the ``held`` connection, if given)."""
    transaction = Transaction(engine, readonly=True, held=held)
    try:
        return unit(NestedUowFactory(engine, transaction))
    finally:
        transaction.close()


class Reader:
    """The read path of one engine in one process."""

    def __init__(self, engine: Engine, *, threads: int, inline: bool | None = None) -> None:
        self.engine = engine
        inline = engine.dialect.name == "sqlite" if inline is None else inline
        self._executor = (
            None if inline else ThreadPoolExecutor(threads, thread_name_prefix="xborder-reader")
        )
        # the inline reads' connection, one per thread running an event loop (one, in a
        # server process), checked out at first use
        self._local = threading.local()
        self._all_held: list[Any] = []

    async def run(self, unit: Callable[[UowFactory], T]) -> T:
        """Run ``unit`` in a read transaction of its own."""
        if self._executor is None:
            held = getattr(self._local, "held", None)
            if held is None:
                held = self._local.held = self.engine.raw_connection()
                self._all_held.append(held)
            return run_read(self.engine, unit, held)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, run_read, self.engine, unit)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        held, self._all_held = self._all_held, []
        self._local = threading.local()
        for connection in held:
            connection.close()  # back to the pool
