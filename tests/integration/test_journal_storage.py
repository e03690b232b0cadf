"""The request journal's table on SQLite and PostgreSQL (issue 14): rows round-trip, and
pruning keeps at most the newest rows, none older than the age limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from xborder.services.journal_ports import JournalEntry, JournalFilter
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NOW = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC)


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
        uow.journal.add(written)
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
