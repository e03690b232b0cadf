"""Projects (consumer keys and their public certificates), partner bindings, OAuth nonces.

D11, D13. A project holds certificates only: a private key is never stored. ``nonces`` is
the replay store shared by every server process; rows older than the timestamp window are
purged as requests arrive.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xborder.storage.tables import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("consumer_key", sa.String(200), primary_key=True),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("signing_certificate", sa.Text(), nullable=False),
        sa.Column("encryption_certificate", sa.Text()),
        sa.Column("created", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "environment IN ('sandbox', 'mtf', 'production')", name="ck_projects_environment"
        ),
    )
    op.create_table(
        "partners",
        sa.Column("partner_id", sa.String(35), primary_key=True),
        sa.Column(
            "consumer_key",
            sa.String(200),
            sa.ForeignKey("projects.consumer_key"),
            nullable=False,
        ),
        sa.Column("created", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_partners_consumer_key", "partners", ["consumer_key"])
    op.create_table(
        "nonces",
        sa.Column("consumer_key", sa.String(200), primary_key=True),
        sa.Column("nonce", sa.String(128), primary_key=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_nonces_timestamp", "nonces", ["timestamp"])


def downgrade() -> None:
    op.drop_table("nonces")
    op.drop_table("partners")
    op.drop_table("projects")
