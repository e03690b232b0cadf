"""``xborder webhooks deliveries``: the recorded status-change push attempts (D14).

Read straight from the database, like ``xborder partners``: one line per attempt.
"""

from __future__ import annotations

from pathlib import Path

import click

from xborder.cli.commands._admin import migrated_database, reporting_errors, settings_for
from xborder.cli.commands._common import database_options
from xborder.services import webhooks as usecases
from xborder.services.ports import DeliveryRecord


@click.group()
def webhooks() -> None:
    """Status-change push (D14): what was delivered to partners' webhooks."""


@webhooks.command("deliveries")
@click.option("--partner-id", help="Only this partner's events.")
@click.option("--payment-id", help="Only this payment's events.")
@database_options
@reporting_errors
def deliveries_command(
    partner_id: str | None, payment_id: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """List delivery attempts, oldest first.

    \b
    Columns: started, partner, payment, event status, eventRef, attempt, HTTP status
    (or -), duration, error, the event's outcome (DELIVERED, FAILED or WAITING).
    Example:
      xborder webhooks deliveries --partner-id MYBANK_MTF1
    """
    with migrated_database(settings_for(database_url, data_dir)) as uow_factory:
        records = usecases.list_deliveries(partner_id, payment_id, uow_factory=uow_factory)
    if not records:
        click.echo("no delivery attempts")
    for record in records:
        click.echo(_line(record))


def _line(record: DeliveryRecord) -> str:
    fields = (
        record.started_at.isoformat(timespec="milliseconds"),
        record.partner_id,
        record.payment_id,
        record.status,
        record.event_ref,
        f"attempt={record.attempt}",
        f"http={record.status_code or '-'}",
        f"{record.duration_ms}ms",
        record.error or "-",
        record.outcome or "WAITING",
    )
    return "  ".join(fields)
