"""The Balance API's authorization-code flow (D23): grants, and the codes, access tokens and
refresh tokens they issue, stored as SHA-256 hashes only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth2_grants",
        sa.Column("grant_id", sa.String(64), primary_key=True),
        sa.Column("consumer_key", sa.String(200), nullable=False),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("state", sa.String(500)),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('PENDING', 'APPROVED', 'DENIED', 'ISSUED')",
            name="ck_oauth2_grants_status",
        ),
    )
    op.create_index("ix_oauth2_grants_status", "oauth2_grants", ["status", "created_at"])
    op.create_table(
        "oauth2_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column(
            "grant_id", sa.String(64), sa.ForeignKey("oauth2_grants.grant_id"), nullable=False
        ),
        sa.Column("consumer_key", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('code', 'access', 'refresh')", name="ck_oauth2_tokens_kind"),
    )
    op.create_index("ix_oauth2_tokens_grant", "oauth2_tokens", ["grant_id"])
    op.create_index("ix_oauth2_tokens_consumer_key", "oauth2_tokens", ["consumer_key"])
    op.create_index("ix_oauth2_tokens_expires_at", "oauth2_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oauth2_tokens_expires_at", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_consumer_key", table_name="oauth2_tokens")
    op.drop_index("ix_oauth2_tokens_grant", table_name="oauth2_tokens")
    op.drop_table("oauth2_tokens")
    op.drop_index("ix_oauth2_grants_status", table_name="oauth2_grants")
    op.drop_table("oauth2_grants")
