"""The registry stamp: one row that every change of a project or a partner binding rewrites,
so that each server process can keep them cached and still never serve a stale one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "stamp": 1}])


def downgrade() -> None:
    op.drop_table("registry_version")
