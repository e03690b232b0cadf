"""The request journal stored in segments (issue 14): one row per batch of entries.

A row per request cost the request path more than issue 14 allows (an insert into a table
and three indexes for every request, then as many deletes when pruned). A segment holds
the entries one journal write brought, as one JSON document; entries are found by reading
segments newest first (the journal is bounded: a few thousand entries by default). The
entries of ``request_journal`` are diagnostic and bounded: they are not carried over.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xborder.storage.tables import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal_segments",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("oldest_at", UtcDateTime(), nullable=False),
        sa.Column("newest_at", UtcDateTime(), nullable=False),
        sa.Column("skip", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("entries", sa.LargeBinary(), nullable=False),
    )
    op.drop_index("ix_request_journal_payment", "request_journal")
    op.drop_index("ix_request_journal_partner", "request_journal")
    op.drop_index("ix_request_journal_at", "request_journal")
    op.drop_table("request_journal")


def downgrade() -> None:
    op.drop_table("journal_segments")
    op.create_table(
        "request_journal",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("request_id", sa.String(20), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(2000), nullable=False),
        sa.Column("operation", sa.String(20)),
        sa.Column("partner_id", sa.String(35)),
        sa.Column("payment_id", sa.String(40)),
        sa.Column("consumer_key", sa.String(200)),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("latency_us", sa.BigInteger(), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("request_headers", sa.Text(), nullable=False),
        sa.Column("request_body", sa.Text(), nullable=False),
        sa.Column("request_plain", sa.Text()),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("response_plain", sa.Text()),
        sa.Column("explanation", sa.Text()),
    )
    op.create_index("ix_request_journal_at", "request_journal", ["at"])
    op.create_index("ix_request_journal_partner", "request_journal", ["partner_id", "id"])
    op.create_index("ix_request_journal_payment", "request_journal", ["payment_id", "id"])
