"""Background bookkeeping never waits for another process's row lock (PostgreSQL).

The scheduler's lease and the push sender's bookkeeping run in the writer's groups beside
requests, and a group holds every lock it took until its commit. Two processes whose groups
each wait on a row the other holds deadlock, and PostgreSQL breaks the cycle only after
``deadlock_timeout`` (one second, in which every request of both groups waits): ``make bench``
met it as a p99 of one second with two workers. So these statements pass a locked row by.

Each transaction here gives up on any lock wait after a fraction of a second, so a statement
that would wait fails with ``LockNotAvailable`` instead of passing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from tests.databases import truncate_all
from tests.integration.test_journal_storage import NOW, entry, record_of
from tests.integration.test_lifecycle import World
from xborder.services.payments import cancel_payment
from xborder.services.ports import DueEvent
from xborder.storage import writer
from xborder.storage.journal import SqlAlchemyRequestJournal, pack
from xborder.storage.lifecycle import SqlAlchemySchedule
from xborder.storage.tables import journal_segments, outbox, scheduler_leases
from xborder.storage.webhooks import SqlAlchemyWebhookStore

pytestmark = pytest.mark.postgres

TTL = timedelta(seconds=30)


@pytest.fixture
def world(postgres_session_engine: Engine) -> World:
    truncate_all(postgres_session_engine)
    return World(postgres_session_engine)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in an open transaction that fails any lock wait after 300 ms."""
    with engine.connect() as connection:
        connection.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
        try:
            yield connection
        finally:
            connection.rollback()


def webhooks(connection: Connection) -> SqlAlchemyWebhookStore:
    return SqlAlchemyWebhookStore(lambda: connection)


def schedule(connection: Connection) -> SqlAlchemySchedule:
    return SqlAlchemySchedule(lambda: connection)


def waiting_events(world: World, count: int, prefix: str) -> None:
    """``count`` sandbox payments cancelled, each change a waiting event (no partner has a
    webhook)."""
    for n in range(count):
        payment = world.create("SANDBOX1", f"{prefix}-{n}")
        cancel_payment("SANDBOX1", payment.id, **world.kw())


def outcomes(engine: Engine) -> list[str | None]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(outbox.c.outcome).order_by(outbox.c.id)).scalars())


def lease_holder(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.execute(sa.select(scheduler_leases.c.holder)).scalar_one())


def test_two_processes_lease_and_skip_without_a_cycle_of_waits(world: World) -> None:
    """The cycle ``make bench`` met: a's group renews the lease then skips events, b's skips
    events then tries the lease. Each passes what the other holds, at once."""
    engine = world.engine
    with transaction(engine) as first:
        assert schedule(first).acquire_lease("lifecycle", "a", NOW, TTL)
        first.commit()
    waiting_events(world, 3, "HELD-BY-B")
    with transaction(engine) as a, transaction(engine) as b:
        assert schedule(a).acquire_lease("lifecycle", "a", NOW, TTL)  # a renews: holds the row
        assert webhooks(b).skip_unregistered() == 3  # b holds the three events
        assert webhooks(a).skip_unregistered() == 0  # passes them by
        assert not schedule(b).acquire_lease("lifecycle", "b", NOW + TTL * 2, TTL)  # passes
        a.commit()
        b.commit()
    assert outcomes(engine) == ["SKIPPED"] * 3
    assert lease_holder(engine) == "a"


def test_skipping_passes_the_events_another_process_holds_and_skips_the_rest(
    world: World,
) -> None:
    engine = world.engine
    waiting_events(world, 2, "FIRST")
    with transaction(engine) as a, transaction(engine) as b:
        assert webhooks(a).skip_unregistered() == 2
        waiting_events(world, 3, "LATER")  # committed meanwhile
        assert webhooks(b).skip_unregistered() == 3
        b.commit()
        a.rollback()
    assert outcomes(engine) == [None, None, "SKIPPED", "SKIPPED", "SKIPPED"]


def test_an_event_another_process_holds_is_neither_claimed_nor_given_up(world: World) -> None:
    engine = world.engine
    waiting_events(world, 1, "CLAIMED")
    with engine.connect() as connection:
        event_id = connection.execute(sa.select(outbox.c.id)).scalar_one()
    event = DueEvent(id=event_id, payment_id="", partner_id="SANDBOX1", attempts=0)
    until = NOW + TTL
    with transaction(engine) as a, transaction(engine) as b:
        assert webhooks(a).claim(event, NOW, until)
        assert not webhooks(b).claim(event, NOW, until)
        webhooks(b).give_up(event_id)  # passes it by: a is making the attempt
        a.rollback()  # a's process died before its attempt
        assert webhooks(b).claim(event, NOW, until)  # now free
        b.commit()
    with engine.connect() as connection:
        row = connection.execute(sa.select(outbox.c.attempts, outbox.c.outcome)).one()
    assert (row.attempts, row.outcome) == (1, None)


def test_the_lease_passes_while_its_holder_renews_and_is_taken_once_expired(
    world: World,
) -> None:
    engine = world.engine
    with transaction(engine) as first:
        assert schedule(first).acquire_lease("lifecycle", "a", NOW, TTL)
        first.commit()
    later = NOW + TTL * 2  # a's lease has expired by then
    with transaction(engine) as a, transaction(engine) as b:
        assert schedule(a).acquire_lease("lifecycle", "a", NOW, TTL)  # renewing, not committed
        assert not schedule(b).acquire_lease("lifecycle", "b", later, TTL)
        a.rollback()
        assert schedule(b).acquire_lease("lifecycle", "b", later, TTL)
        b.commit()
    assert lease_holder(engine) == "b"


def test_a_prune_passes_the_segments_another_process_is_pruning(world: World) -> None:
    engine = world.engine
    with transaction(engine) as setup:
        journal = SqlAlchemyRequestJournal(lambda: setup)
        for minutes_ago in (90, 80, 10):
            journal.add(pack([record_of(entry(minutes_ago, f"p{minutes_ago}"))]))
        setup.commit()
    old = NOW - timedelta(hours=1)
    with transaction(engine) as a, transaction(engine) as b:
        assert SqlAlchemyRequestJournal(lambda: a).prune(10, old) == 2
        assert SqlAlchemyRequestJournal(lambda: b).prune(10, old) == 0  # a holds both
        a.commit()
        b.commit()
    with engine.connect() as connection:
        left = sa.select(sa.func.count()).select_from(journal_segments)
        assert connection.execute(left).scalar_one() == 1


def test_two_groups_locking_in_opposite_orders_break_the_cycle_by_lock_timeout(
    world: World,
) -> None:
    """Two processes' groups each hold one account and want the other's next: the second
    unit of a group gives up on the lock after GROUP_LOCK_TIMEOUT and runs again in a later
    group, where it waits its turn, instead of both groups waiting out deadlock_timeout."""
    engine = world.engine
    with world.uow() as uow:
        for partner in ("LOCK-X", "LOCK-Y"):
            uow.accounts.lock(partner, "USD", NOW)
        uow.commit()
    states: list[str | None] = []  # of every error a lock met, in either kind of run
    both_hold = threading.Barrier(2)

    def lock(partner: str, wait: bool) -> writer.Unit[str]:
        runs: list[int] = []

        def unit(uow_factory: Any) -> str:
            runs.append(1)
            with uow_factory() as uow:
                try:
                    uow.accounts.lock(partner, "USD", NOW)
                except Exception as exc:
                    states.append(writer._sqlstate(exc))
                    raise
                if wait and len(runs) == 1:  # a group runs again after its first run
                    both_hold.wait(timeout=10)
                uow.commit()
            return partner

        return unit

    outcomes: dict[str, list[Any]] = {}
    groups = {"a": [lock("LOCK-X", True), lock("LOCK-Y", False)],
              "b": [lock("LOCK-Y", True), lock("LOCK-X", False)]}  # fmt: skip
    threads = [
        threading.Thread(target=lambda n=n, g=g: outcomes.update({n: writer.run_group(engine, g)}))
        for n, g in groups.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    values = [[o.error or o.value for o in outcomes[name]] for name in ("a", "b")]
    assert values == [["LOCK-X", "LOCK-Y"], ["LOCK-Y", "LOCK-X"]]
    assert "55P03" in states and "40P01" not in states  # a lock timeout, never a deadlock
