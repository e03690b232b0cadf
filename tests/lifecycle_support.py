"""Helpers for the lifecycle, ledger and admin suites: partners bound to mtf/production
projects (D13), payment requests sized in settlement units, ledger sums read straight from
the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.payloads import payment_request
from xborder.domain.ledger import EntryKind, Totals
from xborder.domain.projects import Environment, PartnerBinding, Project
from xborder.domain.request import parse_payment_request
from xborder.storage.tables import ledger_entries, outbox
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def bind(engine: Engine, partner_id: str, environment: str = "mtf") -> None:
    """Bind ``partner_id`` to a project of ``environment`` (one project per environment)."""
    key = f"test-{environment}-project"
    uow_factory = SqlAlchemyUowFactory(engine)
    with uow_factory() as uow:
        if uow.projects.get(key) is None:
            uow.projects.add(Project(key, Environment(environment), "PEM", None, CREATED))
        uow.partners.add(PartnerBinding(partner_id, key, CREATED))
        uow.commit()


def request(reference: str, amount: str = "100.00", currency: str = "USD", **extra: Any) -> Any:
    """A parsed forward payment request whose settlement amount is ``amount`` (fees included,
    so the charged amount, and the settlement, equal ``amount``)."""
    body = payment_request(reference, **extra)
    body["payment_amount"] = {"amount": amount, "currency": currency}
    return parse_payment_request(body)


def ledger_totals(engine: Engine, account_id: str | None = None) -> Totals:
    """Entry totals of one account (or of all), summed directly in SQL."""
    query = sa.select(ledger_entries.c.kind, sa.func.sum(ledger_entries.c.amount)).group_by(
        ledger_entries.c.kind
    )
    if account_id is not None:
        query = query.where(ledger_entries.c.account_id == account_id)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return Totals.of((EntryKind(k), int(v)) for k, v in rows)


def outbox_statuses(engine: Engine, payment_id: str) -> list[str]:
    """The statuses of a payment's outbox events, in order."""
    query = sa.select(outbox.c.status).where(outbox.c.payment_id == payment_id)
    with engine.connect() as connection:
        return list(connection.execute(query.order_by(outbox.c.id)).scalars())
