"""Payments and the status-change outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xborder.storage.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_STATUSES = "'PENDING', 'SUCCESS', 'REJECTED', 'RETURNED', 'CANCELLED'"
_CHANNELS = "'CASH_OUT', 'BANK_ACCOUNT', 'CARD', 'MOBILE_MONEY'"


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.String(31), primary_key=True),
        sa.Column("partner_id", sa.String(35), nullable=False),
        sa.Column("transaction_reference", sa.String(40), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_stage", sa.String(30)),
        sa.Column("pending_max_completion_date", UtcDateTime()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(200)),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("status_timestamp", UtcDateTime(), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("quote_json", sa.Text()),
        sa.Column("cashout_code", sa.String(30)),
        sa.Column("rejection_code", sa.String(6)),
        sa.Column("rejection_reason", sa.String(64)),
        sa.Column("rejection_description", sa.String(1000)),
        sa.Column("rejection_source", sa.String(200)),
        sa.Column("return_message", sa.String(1000)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "partner_id", "transaction_reference", name="uq_payments_partner_reference"
        ),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_payments_status"),
        sa.CheckConstraint(f"channel IN ({_CHANNELS})", name="ck_payments_channel"),
        sa.CheckConstraint(
            "(status = 'PENDING' AND pending_stage IS NOT NULL)"
            " OR (status <> 'PENDING' AND pending_stage IS NULL"
            " AND pending_max_completion_date IS NULL)",
            name="ck_payments_pending_stage",
        ),
        sa.CheckConstraint("version >= 0", name="ck_payments_version"),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_ref", sa.String(36), nullable=False, unique=True),
        sa.Column("payment_id", sa.String(31), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("partner_id", sa.String(35), nullable=False),
        sa.Column("transaction_reference", sa.String(40), nullable=False),
        sa.Column("previous_status", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pending_stage", sa.String(30)),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("error_code", sa.String(6)),
        sa.Column("error_message", sa.String(1000)),
        sa.Column("delivered_at", UtcDateTime()),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_outbox_status"),
    )
    op.create_index("ix_outbox_payment", "outbox", ["payment_id", "id"])
    op.create_index("ix_outbox_undelivered", "outbox", ["delivered_at", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("payments")
