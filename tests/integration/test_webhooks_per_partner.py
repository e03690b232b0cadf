"""Migration 0008 moves partners' webhooks to a table keyed by partner id (D18), and back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from xborder.storage.engine import make_engine
from xborder.storage.migrate import alembic_config, upgrade


def test_0008_moves_registered_webhooks_and_downgrade_puts_bound_ones_back(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'moved.db'}")
    upgrade(engine, "0006")
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO projects (consumer_key, environment, signing_certificate, created)"
                " VALUES ('ck', 'mtf', 'pem', :now)"
            ),
            {"now": now},
        )
        for partner, url in (("BOUND_HOOKED", "http://h/1"), ("BOUND_PLAIN", None)):
            connection.execute(
                sa.text(
                    "INSERT INTO partners (partner_id, consumer_key, created, webhook_url,"
                    " webhook_secret) VALUES (:p, 'ck', :now, :url, 's')"
                ),
                {"p": partner, "now": now, "url": url},
            )
    upgrade(engine)
    with engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT partner_id, url, secret FROM webhooks")).all()
        assert [tuple(r) for r in rows] == [("BOUND_HOOKED", "http://h/1", "s")]
        connection.execute(sa.text("INSERT INTO webhooks VALUES ('SANDBOX1', 'http://h/2', NULL)"))
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with engine.connect() as connection:
        query = "SELECT partner_id, webhook_url FROM partners ORDER BY partner_id"
        back = connection.execute(sa.text(query)).all()
    assert [tuple(r) for r in back] == [("BOUND_HOOKED", "http://h/1"), ("BOUND_PLAIN", None)]
    engine.dispose()
