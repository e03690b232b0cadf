"""SqlAlchemyOAuth2Store: grants and hashed tokens of the authorization-code flow (D23).

Every change that decides something (a grant approved, a code or refresh token spent) is one
conditional UPDATE, so two processes racing on the same grant or token cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from xborder.domain.oauth2 import Grant, GrantStatus, StoredToken, TokenKind
from xborder.storage.tables import oauth2_grants, oauth2_tokens


class SqlAlchemyOAuth2Store:
    """Implements :class:`xborder.services.ports.OAuth2Store`."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection  # made on first use (xborder.storage.transaction)

    def add_grant(self, grant: Grant) -> None:
        values = {
            "grant_id": grant.grant_id,
            "consumer_key": grant.consumer_key,
            "redirect_uri": grant.redirect_uri,
            "state": grant.state,
            "status": grant.status.value,
            "created_at": grant.created_at,
        }
        self._connection().execute(oauth2_grants.insert().values(values))

    def grant(self, grant_id: str) -> Grant | None:
        query = oauth2_grants.select().where(oauth2_grants.c.grant_id == grant_id)
        row = self._connection().execute(query).mappings().first()
        return _grant(row) if row else None

    def grants(self, status: GrantStatus, limit: int) -> list[Grant]:
        query = (
            oauth2_grants.select()
            .where(oauth2_grants.c.status == status.value)
            .order_by(oauth2_grants.c.created_at, oauth2_grants.c.grant_id)
            .limit(limit)
        )
        return [_grant(row) for row in self._connection().execute(query).mappings()]

    def move_grant(self, grant_id: str, before: GrantStatus, after: GrantStatus) -> bool:
        statement = (
            oauth2_grants.update()
            .where(oauth2_grants.c.grant_id == grant_id, oauth2_grants.c.status == before.value)
            .values(status=after.value)
        )
        return self._connection().execute(statement).rowcount == 1

    def add_token(self, token: StoredToken) -> None:
        values = {
            "token_hash": token.token_hash,
            "kind": token.kind.value,
            "grant_id": token.grant_id,
            "consumer_key": token.consumer_key,
            "expires_at": token.expires_at,
            "revoked": token.revoked,
        }
        self._connection().execute(oauth2_tokens.insert().values(values))

    def token(self, token_hash: str) -> StoredToken | None:
        query = oauth2_tokens.select().where(oauth2_tokens.c.token_hash == token_hash)
        row = self._connection().execute(query).mappings().first()
        return _token(row) if row else None

    def spend(self, token_hash: str) -> bool:
        return self._revoke(oauth2_tokens.c.token_hash == token_hash) == 1

    def revoke_grant(self, grant_id: str) -> int:
        return self._revoke(oauth2_tokens.c.grant_id == grant_id)

    def revoke_project(self, consumer_key: str) -> int:
        return self._revoke(oauth2_tokens.c.consumer_key == consumer_key)

    def purge(self, now: int, grants_before: int) -> int:
        connection = self._connection()
        tokens = oauth2_tokens.delete().where(oauth2_tokens.c.expires_at <= now)
        referred = sa.select(oauth2_tokens.c.grant_id).where(
            oauth2_tokens.c.grant_id == oauth2_grants.c.grant_id
        )
        grants = oauth2_grants.delete().where(
            oauth2_grants.c.created_at < grants_before, ~sa.exists(referred)
        )
        return connection.execute(tokens).rowcount + connection.execute(grants).rowcount

    def _revoke(self, which: sa.ColumnElement[bool]) -> int:
        statement = (
            oauth2_tokens.update()
            .where(which, oauth2_tokens.c.revoked.is_(False))
            .values(revoked=True)
        )
        return self._connection().execute(statement).rowcount


def _grant(row: sa.RowMapping | Any) -> Grant:
    return Grant(
        grant_id=row["grant_id"],
        consumer_key=row["consumer_key"],
        redirect_uri=row["redirect_uri"],
        state=row["state"],
        status=GrantStatus(row["status"]),
        created_at=row["created_at"],
    )


def _token(row: sa.RowMapping | Any) -> StoredToken:
    return StoredToken(
        token_hash=row["token_hash"],
        kind=TokenKind(row["kind"]),
        grant_id=row["grant_id"],
        consumer_key=row["consumer_key"],
        expires_at=row["expires_at"],
        revoked=bool(row["revoked"]),
    )
