"""The live streams' feeds on SQLite and PostgreSQL (issue 14): a row committed after a newer
one (two processes' groups on PostgreSQL, which take ids before they commit) is still sent.

The rows are inserted with the ids such a race hands out, one committed after the other, so
the test runs the same on both databases.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.integration.test_journal_storage import entry, record_of
from tests.integration.test_repository import make_payment, stored
from xborder.api.admin import AdminServices
from xborder.api.admin_stream import Feeds, news
from xborder.services.journal import latest_ids
from xborder.services.journal_ports import SEGMENT_SPAN
from xborder.storage.journal import pack
from xborder.storage.tables import journal_segments, outbox, webhook_deliveries
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _segment(engine: Engine, segment_id: int, payment: str) -> None:
    packed = pack([record_of(entry(1, payment))])
    values = {
        "id": segment_id,
        "oldest_at": packed.oldest_at,
        "newest_at": packed.newest_at,
        "skip": 0,
        "count": packed.count,
        "entries": packed.payload,
    }
    with engine.begin() as connection:
        connection.execute(journal_segments.insert().values(values))


def _event(engine: Engine, event_id: int, payment_id: str) -> None:
    values = {
        "id": event_id,
        "event_ref": str(uuid.uuid4()),
        "payment_id": payment_id,
        "partner_id": "PARTNER",
        "transaction_reference": "REF-1",
        "previous_status": "PENDING",
        "status": "CANCELLED",
        "occurred_at": AT,
    }
    with engine.begin() as connection:
        connection.execute(outbox.insert().values(values))


def _delivery(engine: Engine, delivery_id: int, event_id: int) -> None:
    values = {
        "id": delivery_id,
        "outbox_id": event_id,
        "attempt": 1,
        "started_at": AT,
        "status_code": 200,
        "duration_ms": 3,
    }
    with engine.begin() as connection:
        connection.execute(webhook_deliveries.insert().values(values))


def _kinds(chunks: list[str]) -> list[str]:
    return [chunk.split("\n", 1)[0].removeprefix("id: ") for chunk in chunks]


def test_a_row_committed_after_a_newer_one_is_still_sent(engine: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(engine)
    services = AdminServices(uow_factory, None, None, None, False, None)  # type: ignore[arg-type]
    payment = stored(uow_factory, make_payment())  # the outbox's rows need one
    _segment(engine, 10, "p-10")
    _event(engine, 100, payment.id)
    _delivery(engine, 50, 100)
    feeds = Feeds(latest_ids(uow_factory=uow_factory))
    assert news(services, feeds) == []

    # ids 11, 101 and 51 were taken by a group that has not committed; 12, 102, 52 commit
    _segment(engine, 12, "p-12")
    _event(engine, 102, payment.id)
    _delivery(engine, 52, 102)
    first = 12 * SEGMENT_SPAN
    assert _kinds(news(services, feeds)) == [f"request-{first}", "status-102", "delivery-52"]
    # then the slower group commits: its rows come late, once
    _segment(engine, 11, "p-11")
    _event(engine, 101, payment.id)
    _delivery(engine, 51, 101)
    late = 11 * SEGMENT_SPAN
    assert _kinds(news(services, feeds)) == [f"request-{late}", "status-101", "delivery-51"]
    assert news(services, feeds) == []
    # and what follows comes as before
    _event(engine, 103, payment.id)
    assert _kinds(news(services, feeds)) == ["status-103"]


def test_rows_are_read_by_id(engine: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(engine)
    payment = stored(uow_factory, make_payment())  # the outbox's rows need one
    for event_id in (7, 8, 9):
        _event(engine, event_id, payment.id)
    _delivery(engine, 3, 8)
    for segment_id in (4, 5):
        _segment(engine, segment_id, f"p-{segment_id}")
    with uow_factory(readonly=True) as uow:
        assert [e.id for e in uow.events.among([9, 7, 1])] == [7, 9]
        assert uow.events.among([]) == []
        assert [d.outbox_id for d in uow.journal.deliveries_among([3, 4])] == [8]
        assert uow.journal.deliveries_among([]) == []
        found = uow.journal.entries_of_segments([5, 4, 6])
        assert [e.payment_id for e in found] == ["p-4", "p-5"]
        assert uow.journal.entries_of_segments([]) == []
    with engine.connect() as connection:  # nothing else was written
        assert connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 3
