"""What the scheduler and the operator read and write beside payments and accounts (D14, D17):
due candidates, the scheduler lease, the outbox as a list, and the controllable clock's offset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from xborder.domain.states import PaymentStatus, PendingStage
from xborder.services.ports import DueCandidate, StatusEvent
from xborder.storage.tables import (
    accounts,
    clock_offset,
    outbox,
    payments,
    queue_entries,
    scheduler_leases,
)

EVENT_COLUMNS = [outbox.c[f.name] for f in dataclasses.fields(StatusEvent)]
"""The outbox columns a :class:`StatusEvent` holds (not the sender's delivery state)."""


def _dialect(connection: Connection) -> object:
    return postgresql if connection.dialect.name == "postgresql" else sqlite


class SqlAlchemySchedule:
    """Implements :class:`xborder.services.ports.Schedule`."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def candidates(
        self, now: datetime, cutoffs: Mapping[tuple[str, str], datetime], limit: int
    ) -> list[DueCandidate]:
        timed = [
            sa.and_(
                payments.c.pending_stage == stage,
                payments.c.channel == channel,
                payments.c.status_timestamp <= cutoff,
            )
            for (stage, channel), cutoff in cutoffs.items()
        ]
        expired = sa.and_(
            payments.c.pending_stage == PendingStage.INSUFFICIENT_BALANCE.value,
            payments.c.pending_max_completion_date <= now,
        )
        # environment != 'sandbox', as two ranges: a store of many sandbox payments is then
        # skipped by the lifecycle index instead of scanned (at 1,000,000 stored payments the
        # scan took about 0.15 s of every tick). environment is NOT NULL: the same rows.
        due = sa.union_all(
            *(
                sa.select(payments.c.partner_id, payments.c.id, payments.c.status_timestamp).where(
                    environment,
                    payments.c.status == PaymentStatus.PENDING.value,
                    sa.or_(expired, *timed),
                )
                for environment in (
                    payments.c.environment < "sandbox",
                    payments.c.environment > "sandbox",
                )
            )
        ).subquery()
        query = (
            sa.select(due.c.partner_id, due.c.id)
            .order_by(due.c.status_timestamp, due.c.id)
            .limit(limit)
        )
        return [DueCandidate(r.partner_id, r.id) for r in self._connection().execute(query)]

    def accounts_with_queue(self) -> list[tuple[str, str]]:
        # EXISTS rather than a join: without statistics SQLite drove the join from payments
        # and scanned all of them each tick (0.45 s at 1,000,000 stored payments); this way
        # it walks the few accounts and their queues. (partner_id, currency) is unique.
        queued = (
            sa.select(queue_entries.c.id)
            .join(payments, payments.c.id == queue_entries.c.payment_id)
            .where(
                queue_entries.c.account_id == accounts.c.account_id,
                payments.c.status == PaymentStatus.PENDING.value,
                payments.c.pending_stage == PendingStage.INSUFFICIENT_BALANCE.value,
            )
        )
        query = sa.select(accounts.c.partner_id, accounts.c.currency).where(queued.exists())
        return [(r.partner_id, r.currency) for r in self._connection().execute(query)]

    def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        # Every process tries the lease each tick, in a writer group beside requests. Waiting
        # for another process's lock on the row inside a group could close a cycle of waits
        # between two groups, which PostgreSQL breaks only after deadlock_timeout (a second
        # in which each request of both groups waits): the row locked by someone else means
        # that process is taking or renewing the lease right now, so this tick passes.
        # (SQLite ignores FOR UPDATE: its writers never overlap.)
        connection = self._connection()
        lease = scheduler_leases.c
        current = connection.execute(
            sa.select(lease.holder, lease.expires_at)
            .where(lease.name == name)
            .with_for_update(skip_locked=True)
        ).first()
        if current is None:
            exists = sa.select(lease.name).where(lease.name == name)  # a read: never waits
            if connection.execute(exists).first() is not None:
                return False  # locked by another process
            insert = _dialect(connection).insert(scheduler_leases)  # type: ignore[attr-defined]
            statement = insert.values(name=name, holder=holder, expires_at=now + ttl)
            won = connection.execute(statement.on_conflict_do_nothing().returning(lease.name))
            return won.first() is not None
        if current.holder != holder and current.expires_at >= now:
            return False
        connection.execute(
            scheduler_leases.update()
            .where(lease.name == name)
            .values(holder=holder, expires_at=now + ttl)
        )
        return True


class SqlAlchemyEventLog:
    """Implements :class:`xborder.services.ports.EventLog`."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def since(
        self, partner_id: str | None, payment_id: str | None, after: int, limit: int
    ) -> list[StatusEvent]:
        query = sa.select(*EVENT_COLUMNS).where(outbox.c.id > after).order_by(outbox.c.id)
        query = query.limit(limit)
        if partner_id is not None:
            query = query.where(outbox.c.partner_id == partner_id)
        if payment_id is not None:
            query = query.where(outbox.c.payment_id == payment_id)
        return [StatusEvent(**row) for row in self._connection().execute(query).mappings()]

    def among(self, ids: Sequence[int]) -> list[StatusEvent]:
        if not ids:
            return []
        query = sa.select(*EVENT_COLUMNS).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)
        return [StatusEvent(**row) for row in self._connection().execute(query).mappings()]


class SqlAlchemyClockOffset:
    """Implements :class:`xborder.services.ports.ClockOffset`: one row, created on first use."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def get(self) -> timedelta:
        return read_offset(self._connection())

    def advance(self, delta: timedelta) -> timedelta:
        micros = _micros(delta)
        insert = _dialect(self._connection()).insert(clock_offset)  # type: ignore[attr-defined]
        statement = insert.values(id=1, offset_us=micros).on_conflict_do_update(
            index_elements=[clock_offset.c.id],
            set_={"offset_us": clock_offset.c.offset_us + micros},
        )
        self._connection().execute(statement)
        return read_offset(self._connection())


def read_offset(connection: Connection) -> timedelta:
    """The stored offset (zero when the row does not exist yet)."""
    query = sa.select(clock_offset.c.offset_us).where(clock_offset.c.id == 1)
    micros = connection.execute(query).scalar()
    return timedelta(microseconds=micros or 0)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
