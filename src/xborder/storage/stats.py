"""Counts the metrics read from the database at scrape time (issue 14): they hold across
every server process, unlike the per-process request counters."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xborder.storage.tables import outbox, payments


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """Payments by status, outbox events by delivery outcome (``WAITING`` for none yet)."""

    payments: dict[str, int]
    events: dict[str, int]


def store_counts(engine: Engine) -> StoreCounts:
    """Two grouped counts in one read transaction."""
    by_status = sa.select(payments.c.status, sa.func.count()).group_by(payments.c.status)
    outcome = sa.func.coalesce(outbox.c.outcome, "WAITING")
    by_outcome = sa.select(outcome, sa.func.count()).group_by(outcome)
    with engine.connect() as connection:
        statuses = {str(row[0]): int(row[1]) for row in connection.execute(by_status)}
        outcomes = {str(row[0]): int(row[1]) for row in connection.execute(by_outcome)}
    return StoreCounts(statuses, outcomes)
