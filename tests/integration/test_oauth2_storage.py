"""D23's authorization-code use cases on SQLite and PostgreSQL, at chosen instants: the
lifetimes of codes (15 minutes), access tokens (15 minutes) and refresh tokens (90 days),
single use, and two processes racing for one code."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xborder.domain.oauth2 import ACCESS_LIFETIME, CODE_LIFETIME, REFRESH_LIFETIME
from xborder.domain.projects import Environment, Project, Region
from xborder.services import errors as service_errors
from xborder.services import oauth2
from xborder.storage.tables import oauth2_grants, oauth2_tokens
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

T0 = 1_800_000_000
KEY = "eu-storage!0123456789"
URI = "https://client.example/cb"
PROJECT = Project(
    KEY, Environment.SANDBOX, "unused", None, datetime(2026, 12, 6, tzinfo=UTC), region=Region.EU
)


@pytest.fixture
def uow_factory(db: Engine) -> SqlAlchemyUowFactory:
    return SqlAlchemyUowFactory(db)


def client(jti: str) -> oauth2.Client:
    return oauth2.Client(KEY, jti, T0 + 1200)


def code_at(uow_factory: SqlAlchemyUowFactory, now: int) -> str:
    code = oauth2.request_authorization(PROJECT, URI, None, now=now, uow_factory=uow_factory).code
    assert code is not None
    return code


def test_a_code_expires_after_15_minutes(uow_factory: SqlAlchemyUowFactory) -> None:
    code = code_at(uow_factory, T0)
    with pytest.raises(service_errors.InvalidGrant, match="expired"):
        oauth2.exchange_code(
            client("a"), code, URI, now=T0 + CODE_LIFETIME, uow_factory=uow_factory
        )
    issued = oauth2.exchange_code(
        client("b"), code, URI, now=T0 + CODE_LIFETIME - 1, uow_factory=uow_factory
    )
    assert issued.expires_in == ACCESS_LIFETIME


def test_an_access_token_lives_15_minutes(uow_factory: SqlAlchemyUowFactory) -> None:
    issued = oauth2.exchange_code(
        client("a"), code_at(uow_factory, T0), URI, now=T0, uow_factory=uow_factory
    )
    owner = oauth2.access_token_owner
    assert owner(issued.access_token, T0 + ACCESS_LIFETIME - 1, uow_factory=uow_factory) == KEY
    assert owner(issued.access_token, T0 + ACCESS_LIFETIME, uow_factory=uow_factory) is None
    assert owner(issued.refresh_token, T0, uow_factory=uow_factory) is None  # not an access one


def test_a_refresh_token_lives_90_days_and_rotation_keeps_the_end(
    uow_factory: SqlAlchemyUowFactory,
) -> None:
    issued = oauth2.exchange_code(
        client("a"), code_at(uow_factory, T0), URI, now=T0, uow_factory=uow_factory
    )
    assert issued.refresh_token_expires_in == REFRESH_LIFETIME
    later = T0 + REFRESH_LIFETIME - 10
    rotated = oauth2.refresh(client("b"), issued.refresh_token, now=later, uow_factory=uow_factory)
    assert rotated.refresh_token_expires_in == 10
    with pytest.raises(service_errors.InvalidGrant, match="expired"):
        oauth2.refresh(client("c"), rotated.refresh_token, now=later + 10, uow_factory=uow_factory)


def test_the_jti_is_recorded_even_when_the_grant_is_refused(
    uow_factory: SqlAlchemyUowFactory,
) -> None:
    with pytest.raises(service_errors.InvalidGrant):
        oauth2.exchange_code(client("same"), "unknown", URI, now=T0, uow_factory=uow_factory)
    with pytest.raises(service_errors.InvalidClient):
        oauth2.exchange_code(
            client("same"), code_at(uow_factory, T0), URI, now=T0, uow_factory=uow_factory
        )


def test_two_racing_exchanges_of_one_code_issue_once(uow_factory: SqlAlchemyUowFactory) -> None:
    code = code_at(uow_factory, T0)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def exchange(jti: str) -> None:
        barrier.wait()
        try:
            outcomes.append(
                oauth2.exchange_code(client(jti), code, URI, now=T0, uow_factory=uow_factory)
            )
        except service_errors.InvalidGrant as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=exchange, args=(jti,)) for jti in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(type(o).__name__ for o in outcomes) == ["Issued", "ReusedToken"]


def test_a_new_grant_purges_what_can_never_be_used_again(
    uow_factory: SqlAlchemyUowFactory, db: Engine
) -> None:
    spent = oauth2.exchange_code(
        client("a"), code_at(uow_factory, T0), URI, now=T0, uow_factory=uow_factory
    )
    pending = Project(
        "uk-storage!mtf", Environment.MTF, "unused", None, PROJECT.created, region=Region.UK
    )
    oauth2.request_authorization(pending, URI, None, now=T0, uow_factory=uow_factory)
    # past the code's and the access token's lives, within the refresh token's
    code_at(uow_factory, T0 + ACCESS_LIFETIME)
    with db.connect() as connection:
        kinds = connection.execute(sa.select(oauth2_tokens.c.kind)).scalars().all()
    assert sorted(kinds) == ["code", "refresh"]  # the new code; the refresh token lives on
    owner = oauth2.access_token_owner
    assert owner(spent.access_token, T0, uow_factory=uow_factory) is None  # gone
    # after every token's life: only the newest grant's code remains, the old grants go
    late = T0 + REFRESH_LIFETIME + CODE_LIFETIME + ACCESS_LIFETIME + 1
    code_at(uow_factory, late)
    with db.connect() as connection:
        grants = connection.execute(sa.select(oauth2_grants.c.created_at)).scalars().all()
        tokens = connection.execute(sa.select(oauth2_tokens.c.kind)).scalars().all()
    assert sorted(grants) == [late] and tokens == ["code"]
