"""The request journal (issue 14) and webhooks kept per partner id (D18).

``request_journal``: every XBS request and its answer, redacted, bounded.
``webhooks``: a partner's push target keyed by its partner id, so a sandbox partner without
a project binding can have one (D18); the targets registered on ``partners`` move here.

Self-contained: it only creates its tables and moves the two webhook columns of
``partners``, so it can be re-chained after any revision that follows 0006.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xborder.storage.tables import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
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
    _webhooks_by_partner_id()


def _webhooks_by_partner_id() -> None:
    op.create_table(
        "webhooks",
        sa.Column("partner_id", sa.String(35), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200)),
    )
    op.execute(
        "INSERT INTO webhooks (partner_id, url, secret)"
        " SELECT partner_id, webhook_url, webhook_secret FROM partners"
        " WHERE webhook_url IS NOT NULL"
    )
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("webhook_url")


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(2000)))
        batch.add_column(sa.Column("webhook_secret", sa.String(200)))
    # only bound partners can keep a target before D18; a sandbox partner's is lost
    op.execute(
        "UPDATE partners SET"
        " webhook_url = (SELECT url FROM webhooks WHERE webhooks.partner_id = partners.partner_id),"
        " webhook_secret ="
        " (SELECT secret FROM webhooks WHERE webhooks.partner_id = partners.partner_id)"
    )
    op.drop_table("webhooks")
    op.drop_index("ix_request_journal_payment", "request_journal")
    op.drop_index("ix_request_journal_partner", "request_journal")
    op.drop_index("ix_request_journal_at", "request_journal")
    op.drop_table("request_journal")
