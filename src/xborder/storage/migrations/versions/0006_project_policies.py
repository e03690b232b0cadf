"""A project's payload encryption policy (D20) and region (D23). Existing projects keep what
they had: encryption optional, the global API.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("encryption", sa.String(8), nullable=False, server_default="optional")
        )
        batch.add_column(sa.Column("region", sa.String(6), nullable=False, server_default="global"))
        batch.create_check_constraint(
            "ck_projects_encryption", "encryption IN ('optional', 'required')"
        )
        batch.create_check_constraint("ck_projects_region", "region IN ('global', 'eu', 'uk')")


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint("ck_projects_region", type_="check")
        batch.drop_constraint("ck_projects_encryption", type_="check")
        batch.drop_column("region")
        batch.drop_column("encryption")
