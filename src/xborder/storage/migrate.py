"""Apply the Alembic migrations shipped inside the package.

Several processes may migrate at once (hosts of one deployment starting together, each
``xborder serve`` migrating first). On SQLite the migration's ``BEGIN IMMEDIATE`` already
serialises them; on PostgreSQL a transaction-scoped advisory lock does: the first migrates,
the others wait for its commit and then find the schema current. Without it, concurrent
``CREATE TABLE``s of the same name make all but one fail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

SCRIPT_LOCATION = "xborder.storage:migrations"
MIGRATION_LOCK = int.from_bytes(b"xborder", "big")
"""The PostgreSQL advisory lock key schema changes hold (any 64-bit number, fixed)."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at our migrations and ``engine``'s database."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (idempotent)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
