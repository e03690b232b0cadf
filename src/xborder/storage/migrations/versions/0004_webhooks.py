"""Status-change push (D14): partners' webhook URL and HMAC secret, the outbox's delivery
state, and one row per delivery attempt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xborder.storage.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("partners", sa.Column("webhook_url", sa.String(2000)))
    op.add_column("partners", sa.Column("webhook_secret", sa.String(200)))
    op.add_column("outbox", sa.Column("outcome", sa.String(9)))
    op.add_column(
        "outbox",
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("outbox", sa.Column("next_attempt_at", UtcDateTime()))
    op.add_column("outbox", sa.Column("claimed_until", UtcDateTime()))
    op.create_index("ix_outbox_pending", "outbox", ["outcome", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", _BIG_ID, sa.ForeignKey("outbox.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.String(200)),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_outbox", "webhook_deliveries", ["outbox_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_outbox", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_outbox_pending", "outbox")
    with op.batch_alter_table("outbox") as batch:
        for column in ("claimed_until", "next_attempt_at", "attempts", "outcome"):
            batch.drop_column(column)
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("webhook_url")
