"""SqlAlchemyWebhookStore: webhooks per partner id (D18) and the outbox as the push queue (D14).

The outbox row is the queue entry: ``outcome`` is null while the event waits, then
``DELIVERED``, ``FAILED`` (retries spent) or ``SKIPPED`` (its partner had no webhook when
the sender looked). Each attempt is claimed with a conditional UPDATE guarded by the attempt
count and the claim time, so one process makes it, however many run a sender.

The sender's bookkeeping never waits for another process's lock on an outbox row: it runs in
the writer's groups beside requests, and a group holds every lock it took until its commit, so
two processes' groups that each wait on the other deadlock (PostgreSQL breaks the cycle only
after ``deadlock_timeout``, a second in which every request of both groups waits). A row
another transaction holds is being claimed or marked by it; the statements here pass it by
(``FOR UPDATE SKIP LOCKED``; SQLite, whose writers never overlap, ignores the clause).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from xborder.services.ports import (
    Attempt,
    DeliveryRecord,
    DueEvent,
    StatusEvent,
    WebhookTarget,
)
from xborder.services.webhooks import DELIVERED, FAILED, SKIPPED
from xborder.storage.lifecycle import EVENT_COLUMNS
from xborder.storage.tables import outbox, webhook_deliveries, webhooks

_WAITING = outbox.c.outcome.is_(None)
_REGISTERED = sa.select(webhooks.c.partner_id)


class SqlAlchemyWebhookStore:
    """Implements :class:`xborder.services.ports.WebhookStore`."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def set_target(self, partner_id: str, url: str, secret: str | None) -> bool:
        connection = self._connection()
        statement = (
            webhooks.update()
            .where(webhooks.c.partner_id == partner_id)
            .values(url=url, secret=secret)
        )
        if connection.execute(statement).rowcount == 0:
            connection.execute(
                webhooks.insert().values(partner_id=partner_id, url=url, secret=secret)
            )
        return True

    def target(self, partner_id: str) -> WebhookTarget | None:
        query = sa.select(webhooks.c.url, webhooks.c.secret).where(
            webhooks.c.partner_id == partner_id
        )
        row = self._connection().execute(query).first()
        return WebhookTarget(row.url, row.secret) if row else None

    def targets(self) -> list[tuple[str, WebhookTarget]]:
        query = sa.select(webhooks.c.partner_id, webhooks.c.url, webhooks.c.secret).order_by(
            webhooks.c.partner_id
        )
        rows = self._connection().execute(query)
        return [(row.partner_id, WebhookTarget(row.url, row.secret)) for row in rows]

    def skip_unregistered(self) -> int:
        unheld = unlocked(outbox.c.id, _WAITING, outbox.c.partner_id.not_in(_REGISTERED))
        statement = outbox.update().where(outbox.c.id.in_(unheld)).values(outcome=SKIPPED)
        return self._connection().execute(statement).rowcount

    def due(self, now: datetime, limit: int) -> list[DueEvent]:
        heads = (
            sa.select(sa.func.min(outbox.c.id))
            .where(_WAITING, outbox.c.partner_id.in_(_REGISTERED))
            .group_by(outbox.c.payment_id)
        )
        query = (
            sa.select(outbox.c.id, outbox.c.payment_id, outbox.c.partner_id, outbox.c.attempts)
            .where(outbox.c.id.in_(heads), _free(now))
            .where(sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [DueEvent(*row) for row in self._connection().execute(query)]

    def claim(self, event: DueEvent, now: datetime, until: datetime) -> bool:
        unheld = unlocked(
            outbox.c.id,
            outbox.c.id == event.id,
            outbox.c.attempts == event.attempts,
            _WAITING,
            _free(now),
        )
        statement = (
            outbox.update()
            .where(outbox.c.id.in_(unheld))
            .values(attempts=event.attempts + 1, claimed_until=until)
        )
        return self._connection().execute(statement).rowcount == 1

    def event(self, event_id: int) -> StatusEvent:
        query = sa.select(*EVENT_COLUMNS).where(outbox.c.id == event_id)
        return StatusEvent(**self._connection().execute(query).mappings().one())

    def history(self, payment_id: str, up_to: int) -> list[StatusEvent]:
        query = (
            sa.select(*EVENT_COLUMNS)
            .where(outbox.c.payment_id == payment_id, outbox.c.id <= up_to)
            .order_by(outbox.c.id.desc())
        )
        return [StatusEvent(**row) for row in self._connection().execute(query).mappings()]

    def finish(
        self, event: DueEvent, attempt: Attempt, outcome: str | None, retry_at: datetime | None
    ) -> None:
        self._connection().execute(webhook_deliveries.insert().values(**_delivery(event, attempt)))
        values: dict[str, Any] = {"outcome": outcome, "claimed_until": None}
        if outcome == DELIVERED:
            values["delivered_at"] = attempt.started_at
        values["next_attempt_at"] = retry_at
        self._connection().execute(outbox.update().where(outbox.c.id == event.id).values(values))

    def requeue(self, event_id: int) -> bool:
        statement = (
            outbox.update()
            .where(outbox.c.id == event_id, outbox.c.outcome.is_not(None))
            .values(outcome=None, attempts=0, next_attempt_at=None, claimed_until=None)
        )
        return self._connection().execute(statement).rowcount == 1

    def give_up(self, event_id: int) -> None:
        unheld = unlocked(outbox.c.id, outbox.c.id == event_id, _WAITING)
        statement = (
            outbox.update()
            .where(outbox.c.id.in_(unheld))
            .values(outcome=FAILED, claimed_until=None)
        )
        self._connection().execute(statement)

    def deliveries(
        self, partner_id: str | None, payment_id: str | None, limit: int
    ) -> list[DeliveryRecord]:
        query = DELIVERIES.limit(limit)
        if partner_id is not None:
            query = query.where(outbox.c.partner_id == partner_id)
        if payment_id is not None:
            query = query.where(outbox.c.payment_id == payment_id)
        return [DeliveryRecord(**row) for row in self._connection().execute(query).mappings()]


DELIVERIES = (
    sa.select(
        webhook_deliveries.c.id,
        webhook_deliveries.c.outbox_id,
        outbox.c.event_ref,
        outbox.c.partner_id,
        outbox.c.payment_id,
        outbox.c.status,
        webhook_deliveries.c.attempt,
        webhook_deliveries.c.started_at,
        webhook_deliveries.c.status_code,
        webhook_deliveries.c.error,
        webhook_deliveries.c.duration_ms,
        outbox.c.outcome,
    )
    .join(outbox, outbox.c.id == webhook_deliveries.c.outbox_id)
    .order_by(webhook_deliveries.c.id)
)


def unlocked(key: sa.Column[int], *conditions: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    """The ``key`` of the rows of its table that meet ``conditions`` and that no other
    transaction holds, locked for this one (see the module docstring; the journal's pruning
    uses it too)."""
    query = sa.select(key).where(*conditions)
    return query.with_for_update(skip_locked=True, of=key.table).scalar_subquery()


def _free(now: datetime) -> sa.ColumnElement[bool]:
    """Not claimed, or claimed by an attempt that should have ended (its process died)."""
    return sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)


def _delivery(event: DueEvent, attempt: Attempt) -> dict[str, Any]:
    return {
        "outbox_id": event.id,
        "attempt": event.attempts + 1,
        "started_at": attempt.started_at,
        "status_code": attempt.status_code,
        "error": attempt.error[:200] if attempt.error else None,
        "duration_ms": attempt.duration_ms,
    }
