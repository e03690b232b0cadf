"""Prefunded accounts, the ledger, the funding queue, the controllable clock and the
scheduler lease (D16, D17).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xborder.storage.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KINDS = "'FUND', 'RESERVE', 'RELEASE', 'SETTLE', 'RETURN'"
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _accounts()
    _ledger_entries()
    _queue_entries()
    op.create_table(
        "clock_offset",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_clock_offset_single_row"),
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "ix_payments_lifecycle",
        "payments",
        ["environment", "status", "pending_stage", "status_timestamp"],
    )


def _accounts() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(30), primary_key=True),
        sa.Column("partner_id", sa.String(35), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("threshold_minor", sa.BigInteger(), nullable=False),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("partner_id", "currency", name="uq_accounts_partner_currency"),
        sa.CheckConstraint("version >= 0", name="ck_accounts_version"),
    )


def _ledger_entries() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id", sa.String(30), sa.ForeignKey("accounts.account_id"), nullable=False
        ),
        sa.Column("payment_id", sa.String(31), sa.ForeignKey("payments.id")),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("payment_id", "kind", name="uq_ledger_entries_payment_kind"),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name="ck_ledger_entries_kind"),
        sa.CheckConstraint("amount > 0", name="ck_ledger_entries_amount"),
        sa.CheckConstraint(
            "(kind = 'FUND' AND payment_id IS NULL) OR (kind <> 'FUND' AND payment_id IS NOT NULL)",
            name="ck_ledger_entries_payment",
        ),
    )
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account_id", "kind"])


def _queue_entries() -> None:
    op.create_table(
        "queue_entries",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id", sa.String(30), sa.ForeignKey("accounts.account_id"), nullable=False
        ),
        sa.Column("payment_id", sa.String(31), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("payment_id", name="uq_queue_entries_payment"),
        sa.CheckConstraint("amount > 0", name="ck_queue_entries_amount"),
    )
    op.create_index("ix_queue_entries_account", "queue_entries", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_payments_lifecycle", table_name="payments")
    for table in ("scheduler_leases", "clock_offset", "queue_entries", "ledger_entries"):
        op.drop_table(table)
    op.drop_table("accounts")
