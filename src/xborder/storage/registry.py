"""Repositories of projects, partner bindings and OAuth nonces (D11, D13), in SQLAlchemy Core.

Every change of a project or a binding also rewrites the registry stamp
(:class:`SqlAlchemyRegistryStamp`) in the same transaction: processes that cache the registry
compare the stamp inside each request's transaction (:mod:`xborder.services.registry`).

The nonce insert is ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` on both SQLite (3.35+)
and PostgreSQL, so a replay is an ordinary "no row returned", never an aborted transaction; of
two processes recording the same nonce at once, exactly one inserts it. (``rowcount`` would
not do: psycopg reports -1 for it here.)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from xborder.domain.projects import (
    EncryptionPolicy,
    Environment,
    PartnerBinding,
    Project,
    Region,
)
from xborder.services.errors import ConflictError
from xborder.storage.prepared import Cursor, Prepared, insert_or_ignore
from xborder.storage.tables import nonces, partners, projects, registry_version
from xborder.storage.transaction import Transaction

# The statements every signed request runs, prepared once and run on the driver cursor
# (xborder.storage.prepared); the rest are operators' and go through the Connection.
_PROJECT = Prepared(
    projects.select().where(projects.c.consumer_key == sa.bindparam("consumer_key"))
)
_PROJECT_OF = Prepared(
    projects.select()
    .join(partners, partners.c.consumer_key == projects.c.consumer_key)
    .where(partners.c.partner_id == sa.bindparam("partner_id"))
)
_STAMP_QUERY = sa.select(registry_version.c.stamp).where(
    registry_version.c.id == sa.bindparam("row")
)
_STAMP = Prepared(_STAMP_QUERY)
_STAMP_HELD = Prepared(  # in a write transaction: no restamp can commit before it does
    {"postgresql": _STAMP_QUERY.with_for_update(read=True), "sqlite": _STAMP_QUERY}
)
_RECORD_NONCE = insert_or_ignore(
    nonces, column_keys=("consumer_key", "nonce", "timestamp"), returning=(nonces.c.nonce,)
)


class SqlAlchemyProjectRepository:
    """Implements :class:`xborder.services.unit_of_work.ProjectRepository`."""

    def __init__(self, connection: Callable[[], Connection], cursor: Cursor) -> None:
        self._connection = connection  # made on first use: the hot methods need only the cursor
        self._cursor = cursor

    def add(self, project: Project) -> None:
        values = {
            "consumer_key": project.consumer_key,
            "environment": project.environment.value,
            "signing_certificate": project.signing_certificate,
            "encryption_certificate": project.encryption_certificate,
            "created": project.created,
            "encryption": project.encryption.value,
            "region": project.region.value,
        }
        _insert(self._connection(), projects.insert().values(**values), project.consumer_key)
        restamp(self._connection(), self._cursor)

    def get(self, consumer_key: str) -> Project | None:
        row = self._cursor.first(_PROJECT, {"consumer_key": consumer_key})
        return _project(row) if row is not None else None

    def all(self) -> list[Project]:
        query = projects.select().order_by(projects.c.consumer_key)
        return [_project(row) for row in self._connection().execute(query).mappings()]

    def update(self, project: Project) -> None:
        query = (
            projects.update()
            .where(projects.c.consumer_key == project.consumer_key)
            .values(encryption=project.encryption.value, region=project.region.value)
        )
        self._connection().execute(query)
        restamp(self._connection(), self._cursor)

    def remove(self, consumer_key: str) -> bool:
        query = projects.delete().where(projects.c.consumer_key == consumer_key)
        return _changed(self._connection(), self._cursor, query)


class SqlAlchemyPartnerRepository:
    """Implements :class:`xborder.services.unit_of_work.PartnerRepository`."""

    def __init__(self, connection: Callable[[], Connection], cursor: Cursor) -> None:
        self._connection = connection  # made on first use: the hot methods need only the cursor
        self._cursor = cursor

    def add(self, binding: PartnerBinding) -> None:
        values = {
            "partner_id": binding.partner_id,
            "consumer_key": binding.consumer_key,
            "created": binding.created,
        }
        _insert(self._connection(), partners.insert().values(**values), binding.partner_id)
        restamp(self._connection(), self._cursor)

    def get(self, partner_id: str) -> PartnerBinding | None:
        query = partners.select().where(partners.c.partner_id == partner_id)
        row = self._connection().execute(query).mappings().first()
        return _binding(row) if row is not None else None

    def project_of(self, partner_id: str) -> Project | None:
        row = self._cursor.first(_PROJECT_OF, {"partner_id": partner_id})
        return _project(row) if row is not None else None

    def all(self, consumer_key: str | None = None) -> list[PartnerBinding]:
        query = partners.select().order_by(partners.c.partner_id)
        if consumer_key is not None:
            query = query.where(partners.c.consumer_key == consumer_key)
        return [_binding(row) for row in self._connection().execute(query).mappings()]

    def remove(self, partner_id: str) -> bool:
        query = partners.delete().where(partners.c.partner_id == partner_id)
        return _changed(self._connection(), self._cursor, query)


class SqlAlchemyNonceRepository:
    """Implements :class:`xborder.services.unit_of_work.NonceRepository`."""

    def __init__(self, connection: Callable[[], Connection], cursor: Cursor) -> None:
        self._connection = connection  # made on first use: the hot methods need only the cursor
        self._cursor = cursor

    def record(self, consumer_key: str, nonce: str, timestamp: int) -> bool:
        values = {"consumer_key": consumer_key, "nonce": nonce, "timestamp": timestamp}
        return self._cursor.first(_RECORD_NONCE, values) is not None

    def purge(self, before: int) -> int:
        result = self._connection().execute(nonces.delete().where(nonces.c.timestamp < before))
        return result.rowcount


class SqlAlchemyRegistryStamp:
    """Implements :class:`xborder.services.unit_of_work.RegistryStamp`.

    In a write transaction the stamp is read once and held: SQLite's ``BEGIN IMMEDIATE``
    already excludes every other writer, and on PostgreSQL the row is read ``FOR SHARE``, so
    a restamp by another transaction waits for this one to commit. Every unit of a writer's
    group then checks against that one read instead of querying again.
    """

    def __init__(self, transaction: Transaction) -> None:
        self._transaction = transaction

    def read(self) -> int:
        transaction = self._transaction
        if transaction.readonly:
            return _stamp(transaction.cursor.first(_STAMP, {"row": 1}))
        memo = transaction.cursor.memo
        stamp = memo.get(_MEMO)
        if stamp is None:
            stamp = memo[_MEMO] = _stamp(transaction.cursor.first(_STAMP_HELD, {"row": 1}))
        return int(stamp)


def _stamp(row: Mapping[str, Any] | None) -> int:
    return int(row["stamp"]) if row is not None else 0


_MEMO = "registry_stamp"


def restamp(connection: Connection, cursor: Cursor | None = None) -> None:
    """Write a new registry stamp (creating the row when a test emptied the table); the
    stamp ``cursor``'s transaction held is forgotten."""
    if cursor is not None:
        cursor.memo.pop(_MEMO, None)
    stamp = secrets.randbits(62) + 2
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(registry_version).values(id=1, stamp=stamp)
    statement = insert.on_conflict_do_update(
        index_elements=[registry_version.c.id], set_={"stamp": stamp}
    )
    connection.execute(statement)


def _changed(connection: Connection, cursor: Cursor, statement: sa.Delete) -> bool:
    changed = connection.execute(statement).rowcount == 1
    if changed:
        restamp(connection, cursor)
    return changed


def _insert(connection: Connection, statement: sa.Insert, key: str) -> None:
    try:
        connection.execute(statement)
    except IntegrityError as exc:
        raise ConflictError(key) from exc


def _project(row: Mapping[str, Any] | sa.RowMapping) -> Project:
    return Project(
        consumer_key=row["consumer_key"],
        environment=Environment(row["environment"]),
        signing_certificate=row["signing_certificate"],
        encryption_certificate=row["encryption_certificate"],
        created=row["created"],
        encryption=EncryptionPolicy(row["encryption"]),
        region=Region(row["region"]),
    )


def _binding(row: sa.RowMapping) -> PartnerBinding:
    return PartnerBinding(
        partner_id=row["partner_id"], consumer_key=row["consumer_key"], created=row["created"]
    )
