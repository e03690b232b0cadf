"""Drop the outbox index on ``delivered_at``, which no query reads any more.

``ix_outbox_undelivered`` served 0001's pull of undelivered events. Since 0004 the push
sender finds waiting events by ``outcome`` (``ix_outbox_pending``), and ``delivered_at`` is
only written (on delivery) and shown; the index still took an entry for every status change
and moved it on every delivery (issue 12: less written per change).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_undelivered", "outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_undelivered", "outbox", ["delivered_at", "id"])
