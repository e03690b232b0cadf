"""The request journal's table on SQLite and PostgreSQL (issue 14): rows round-trip, and
pruning keeps at most the newest rows, none older than the age limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from xborder.services.journal_ports import JournalEntry, JournalFilter, JournalRecord
from xborder.storage.journal import pack
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NOW = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC)


def record_of(entry: JournalEntry) -> JournalRecord:
    """The record the journal's thread would have built for ``entry``: its fields but the
    id, ``at`` in epoch seconds, the headers and the explanation as parsed JSON."""
    at, *middle, headers, body, plain_in, content, plain_out, explanation, _id = entry
    parsed = json.loads(explanation) if explanation else None
    return (
        at.timestamp(),
        *middle,
        json.loads(headers),
        body,
        plain_in,
        content,
        plain_out,
        parsed,
    )


def entry(minutes_ago: int, payment: str, **changes: object) -> JournalEntry:
    fields: dict[str, object] = {
        "at": NOW - timedelta(minutes=minutes_ago),
        "request_id": "1000000001",
        "method": "GET",
        "path": f"/send/v1/partners/P1/crossborder/{payment}",
        "operation": "get",
        "partner_id": "P1",
        "payment_id": payment,
        "consumer_key": None,
        "status": 200,
        "reason_code": None,
        "latency_us": 1234,
        "encrypted": False,
        "request_headers": "{}",
        "request_body": "",
        "request_plain": None,
        "response_body": '{"ok": "ü"}',
        "response_plain": None,
        "explanation": None,
    }
    fields.update(changes)
    return JournalEntry(**fields)  # type: ignore[arg-type]


def test_entries_round_trip_and_are_pruned_by_age_and_count(engine: Engine) -> None:
    uow_factory = SqlAlchemyUowFactory(engine)
    written = [entry(90, "old"), entry(30, "a"), entry(20, "b", encrypted=True), entry(10, "c")]
    with uow_factory() as uow:
        uow.journal.add(pack([record_of(e) for e in written]))
        uow.commit()
    with uow_factory(readonly=True) as uow:
        stored = uow.journal.page(JournalFilter(), 10, None)
    assert [e.payment_id for e in stored] == ["c", "b", "a", "old"]
    assert stored[1].encrypted is True and stored[0].response_body == '{"ok": "ü"}'
    assert stored[0].at == NOW - timedelta(minutes=10)
    with uow_factory() as uow:
        removed = uow.journal.prune(2, NOW - timedelta(hours=1))
        uow.commit()
    assert removed == 2
    with uow_factory(readonly=True) as uow:
        kept = uow.journal.page(JournalFilter(), 10, None)
        since = uow.journal.page(JournalFilter(since=NOW - timedelta(minutes=15)), 10, None)
        heads = uow.journal.heads()
    assert [e.payment_id for e in kept] == ["c", "b"]
    assert [e.payment_id for e in since] == ["c"] and heads[0] == kept[0].id


def _write(uow_factory: SqlAlchemyUowFactory, *batches: list[JournalEntry]) -> None:
    for batch in batches:  # one journal write each: one segment each
        with uow_factory() as uow:
            uow.journal.add(pack([record_of(e) for e in batch]))
            uow.commit()


def test_segments_number_page_and_trim_their_entries(engine: Engine) -> None:
    """Entries are stored a write (a segment) at a time: ids grow across writes, paging and
    the live feed cross segments, and a prune that ends inside a segment trims it."""
    uow_factory = SqlAlchemyUowFactory(engine)
    _write(
        uow_factory,
        [entry(50, "p1"), entry(49, "p2", partner_id="P2"), entry(48, "p3")],
        [entry(47, "p4", status=404), entry(46, "p5")],
    )
    with uow_factory(readonly=True) as uow:
        everything = uow.journal.page(JournalFilter(), 10, None)
        ids = [e.id for e in everything]
        assert [e.payment_id for e in everything] == ["p5", "p4", "p3", "p2", "p1"]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
        assert [e.payment_id for e in uow.journal.page(JournalFilter(), 2, ids[1])] == ["p3", "p2"]
        partner = uow.journal.page(JournalFilter(partner_id="P2"), 5, None)
        assert [e.payment_id for e in partner] == ["p2"]
        assert [e.id for e in uow.journal.page(JournalFilter(status=404), 5, None)] == [ids[1]]
        assert [e.payment_id for e in uow.journal.entries_after(ids[3], 2)] == ["p3", "p4"]
        assert uow.journal.get(ids[2]) == everything[2]
        assert uow.journal.heads()[0] == ids[0]
    with uow_factory() as uow:
        assert uow.journal.prune(3, NOW - timedelta(days=1)) == 2  # p1 and p2: a trim
        uow.commit()
    with uow_factory(readonly=True) as uow:
        kept = uow.journal.page(JournalFilter(), 10, None)
        assert [e.id for e in kept] == ids[:3]  # the survivors keep their ids
        assert uow.journal.get(ids[3]) is None and uow.journal.get(ids[2]) == everything[2]
        assert [e.payment_id for e in uow.journal.entries_after(0, 10)] == ["p3", "p4", "p5"]
    with uow_factory() as uow:
        assert uow.journal.prune(3, NOW - timedelta(minutes=46, seconds=30)) == 2  # by age
        uow.commit()
    with uow_factory(readonly=True) as uow:
        assert [e.payment_id for e in uow.journal.page(JournalFilter(), 10, None)] == ["p5"]
        assert uow.journal.get(-1) is None and uow.journal.get(10**12) is None
