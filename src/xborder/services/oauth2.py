"""Use cases of the Balance API's authorization-code flow (D23): xborder as the authorization
server of eu and uk projects.

``GET /oauth2/authorize`` opens a grant (:func:`request_authorization`): a sandbox project's
is approved at once and its code issued; an mtf or production project's waits until an
operator approves or denies it (:func:`decide_grant`), after which the client collects its
code (:func:`collect_code`). ``POST /oauth2/token`` exchanges a code (:func:`exchange_code`)
or a refresh token (:func:`refresh`) for an access token and a new refresh token; the client
authenticated itself with a request token whose ``jti`` is recorded in the same transaction.
The gate asks :func:`access_token_owner` who an access token on the Balance API belongs to.
Lifetimes and invariants: :mod:`xborder.domain.oauth2`. Times are wall-clock Unix seconds,
like the request tokens' (the business clock of D17 may be moved; credentials' may not).

Its refusals (``OAuth2Error``, answered as RFC 6749's JSON, and the grant and token errors)
are in :mod:`xborder.services.errors`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from xborder.domain.oauth2 import (
    ACCESS_LIFETIME,
    CODE_LIFETIME,
    REFRESH_LIFETIME,
    Grant,
    GrantStatus,
    StoredToken,
    TokenKind,
    token_hash,
)
from xborder.domain.projects import Environment, Project
from xborder.services.errors import (
    GrantDecided,
    GrantNotFound,
    InvalidClient,
    InvalidGrant,
    ReusedToken,
    TokenNotFound,
)
from xborder.services.payments import UowFactory
from xborder.services.unit_of_work import AbstractUnitOfWork

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Client:
    """A client authenticated by a request token: its project's consumer key, and the token's
    ``jti`` with the time until which it must be remembered (D23: accepted once)."""

    consumer_key: str
    jti: str
    jti_until: int


@dataclass(frozen=True, slots=True)
class Authorization:
    """A grant, with its code when one was issued by this call (handed out once)."""

    grant: Grant
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Issued:
    """The token endpoint's answer (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_token_expires_in: int


def request_authorization(
    project: Project, redirect_uri: str, state: str | None, *, now: float, uow_factory: UowFactory
) -> Authorization:
    """Open a grant for ``project``; a sandbox project's is issued its code at once (D23)."""
    sandbox = project.environment is Environment.SANDBOX
    grant = Grant(
        grant_id=secrets.token_urlsafe(24),
        consumer_key=project.consumer_key,
        redirect_uri=redirect_uri,
        state=state,
        status=GrantStatus.ISSUED if sandbox else GrantStatus.PENDING,
        created_at=int(now),
    )
    with uow_factory() as uow:
        # each new grant clears what can never be used again, so the tables stay bounded:
        # expired tokens, and grants past any refresh token's life that nothing refers to
        uow.oauth2.purge(int(now), int(now) - REFRESH_LIFETIME - CODE_LIFETIME)
        uow.oauth2.add_grant(grant)
        code = _issue(uow, TokenKind.CODE, grant, int(now) + CODE_LIFETIME) if sandbox else None
        uow.commit()
    return Authorization(grant, code)


def collect_code(grant_id: str, *, now: float, uow_factory: UowFactory) -> Authorization:
    """The grant; with its code when it was approved and the code not collected before."""
    with uow_factory() as uow:
        grant = uow.oauth2.grant(grant_id)
        if grant is None:
            raise GrantNotFound("no such grant")
        if not uow.oauth2.move_grant(grant_id, GrantStatus.APPROVED, GrantStatus.ISSUED):
            return Authorization(grant)
        code = _issue(uow, TokenKind.CODE, grant, int(now) + CODE_LIFETIME)
        uow.commit()
    return Authorization(_with_status(grant, GrantStatus.ISSUED), code)


def decide_grant(grant_id: str, *, approve: bool, uow_factory: UowFactory) -> Grant:
    """An operator approves or denies a pending grant (D23: consent by an operator)."""
    after = GrantStatus.APPROVED if approve else GrantStatus.DENIED
    with uow_factory() as uow:
        grant = uow.oauth2.grant(grant_id)
        if grant is None:
            raise GrantNotFound("no such grant")
        if not uow.oauth2.move_grant(grant_id, GrantStatus.PENDING, after):
            raise GrantDecided(f"the grant is {grant.status.value}, not PENDING")
        uow.commit()
    return _with_status(grant, after)


def pending_grants(*, uow_factory: UowFactory, limit: int = 100) -> list[Grant]:
    """Grants waiting for an operator, oldest first."""
    with uow_factory(readonly=True) as uow:
        return uow.oauth2.grants(GrantStatus.PENDING, limit)


def project_of(consumer_key: str, *, uow_factory: UowFactory) -> Project | None:
    """The project with that consumer key, read now."""
    with uow_factory(readonly=True) as uow:
        return uow.projects.get(consumer_key)


def exchange_code(
    client: Client, code: str, redirect_uri: str, *, now: float, uow_factory: UowFactory
) -> Issued:
    """``grant_type=authorization_code``: a code issued to ``client`` with this redirect URI,
    unexpired and never exchanged, becomes an access token and a refresh token. A code
    presented a second time revokes everything its grant issued (RFC 6749 §4.1.2)."""

    def exchange(uow: AbstractUnitOfWork) -> Issued:
        stored = _live(uow, TokenKind.CODE, code, client, now)
        grant = uow.oauth2.grant(stored.grant_id)
        if grant is None or grant.redirect_uri != redirect_uri:
            raise InvalidGrant("redirect_uri is not the one the code was issued for")
        if not uow.oauth2.spend(stored.token_hash):
            raise ReusedToken("the code was exchanged before", grant.grant_id)
        return _pair(uow, grant, int(now), int(now) + REFRESH_LIFETIME)

    return _as_client(client, exchange, uow_factory)


def refresh(client: Client, refresh_token: str, *, now: float, uow_factory: UowFactory) -> Issued:
    """``grant_type=refresh_token``: a live refresh token of ``client`` is spent for a new
    access token and a new refresh token expiring with it (rotation); a spent one presented
    again revokes everything its grant issued."""

    def rotate(uow: AbstractUnitOfWork) -> Issued:
        stored = _live(uow, TokenKind.REFRESH, refresh_token, client, now)
        grant = uow.oauth2.grant(stored.grant_id)
        if grant is None or not uow.oauth2.spend(stored.token_hash):
            raise ReusedToken("the refresh token was used before", stored.grant_id)
        return _pair(uow, grant, int(now), stored.expires_at)

    return _as_client(client, rotate, uow_factory)


def access_token_owner(token: str, now: float, *, uow_factory: UowFactory) -> str | None:
    """The consumer key a live access token was issued to, else None (the gate's question)."""
    with uow_factory(readonly=True) as uow:
        stored = uow.oauth2.token(token_hash(token))
    return stored.consumer_key if stored and stored.live(TokenKind.ACCESS, now) else None


def revoke_token(token: str, *, uow_factory: UowFactory) -> int:
    """Revoke the grant ``token`` (a code, access or refresh token) belongs to: every token
    it issued stops working. Returns how many were live."""
    with uow_factory() as uow:
        stored = uow.oauth2.token(token_hash(token))
        if stored is None:
            raise TokenNotFound("xborder never issued this token")
        revoked = uow.oauth2.revoke_grant(stored.grant_id)
        uow.commit()
    return revoked


def revoke_project_tokens(consumer_key: str, *, uow_factory: UowFactory) -> int:
    """Revoke every token issued to a project; returns how many were live."""
    with uow_factory() as uow:
        revoked = uow.oauth2.revoke_project(consumer_key)
        uow.commit()
    return revoked


def _as_client(
    client: Client, work: Callable[[AbstractUnitOfWork], T], uow_factory: UowFactory
) -> T:
    """Run ``work`` in one transaction that records the client's ``jti`` first. A refusal is
    committed too (the jti stays spent; a reused code's revocation holds), then raised."""
    with uow_factory() as uow:
        if not uow.nonces.record(client.consumer_key, client.jti, client.jti_until):
            raise InvalidClient("request token used before")  # D23
        try:
            result = work(uow)
        except ReusedToken as reused:
            uow.oauth2.revoke_grant(reused.grant_id)
            uow.commit()
            raise
        except InvalidGrant:
            uow.commit()
            raise
        uow.commit()
    return result


def _live(
    uow: AbstractUnitOfWork, kind: TokenKind, token: str, client: Client, now: float
) -> StoredToken:
    stored = uow.oauth2.token(token_hash(token)) if token else None
    if stored is None or stored.kind is not kind or stored.consumer_key != client.consumer_key:
        raise InvalidGrant(f"not a {kind.value} issued to this client")
    if stored.revoked:
        raise ReusedToken(f"the {kind.value} was used or revoked before", stored.grant_id)
    if now >= stored.expires_at:
        raise InvalidGrant(f"the {kind.value} expired")
    return stored


def _pair(uow: AbstractUnitOfWork, grant: Grant, now: int, refresh_expires: int) -> Issued:
    access = _issue(uow, TokenKind.ACCESS, grant, now + ACCESS_LIFETIME)
    refresh_token = _issue(uow, TokenKind.REFRESH, grant, refresh_expires)
    return Issued(access, ACCESS_LIFETIME, refresh_token, refresh_expires - now)


def _issue(uow: AbstractUnitOfWork, kind: TokenKind, grant: Grant, expires_at: int) -> str:
    token = secrets.token_urlsafe(32)  # 256 bits; no dot, so never mistaken for a JWT
    stored = StoredToken(token_hash(token), kind, grant.grant_id, grant.consumer_key, expires_at)
    uow.oauth2.add_token(stored)
    return token


def _with_status(grant: Grant, status: GrantStatus) -> Grant:
    return Grant(
        grant.grant_id,
        grant.consumer_key,
        grant.redirect_uri,
        grant.state,
        status,
        grant.created_at,
    )
