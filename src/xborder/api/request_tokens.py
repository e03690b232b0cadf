"""Bearer authentication of the PSD2 EU and UK projects in the signed gate (D23).

:class:`BearerAuthenticator` admits a request that carries ``Authorization: Bearer …``:

- on every API but Balance, the value is a request token (:mod:`xborder.security.
  request_token`): its ``kid`` names the project, which must be of region ``eu`` or ``uk``
  (a Bearer token to a ``global`` project is 401 ``DECLINED``), its ``x5c`` and signature must
  match the project's registered certificate, the project must be entitled to the partner
  (D13), and its ``jti`` must be new: it is handed back as the request's :class:`Nonce`,
  recorded by :meth:`SignedGate.record` in the request's own transaction like an OAuth nonce;
- on the Balance API (``/send/partners/…``), the value must be an access token of the
  authorization-code flow (:mod:`xborder.services.oauth2`); anything else, a request token
  included, is 401 ``DECLINED``.

Nothing here writes: the gate's contract (``admit`` reads only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import urlsplit

from xborder.api import balance
from xborder.api.gate import Incoming, Nonce
from xborder.domain.projects import Project, Region, is_entitled
from xborder.security.errors import AuthDeclined, AuthHeaderInvalid
from xborder.security.request_token import DEFAULT_TOLERANCE, verify_request_token
from xborder.services.nonces import NonceGuard
from xborder.services.registry import RegistryCache

PSD2_REGIONS = frozenset({Region.EU, Region.UK})
"""Regions whose projects authenticate with OAuth 2.0 tokens instead of OAuth 1.0a (D23)."""

AccessTokenLookup = Callable[[str, float], str | None]
"""Maps an access token and the time now to the consumer key it was issued to (None: not a
live access token)."""


@dataclass(frozen=True, slots=True)
class BearerAdmission:
    """A request admitted by a Bearer token: its project, the registry stamp the decision
    rests on, and the ``jti`` to record (None for an access token, which is reusable)."""

    project: Project
    stamp: int
    nonce: Nonce | None


def is_bearer(authorization: str | None) -> TypeGuard[str]:
    """Whether an Authorization value uses the Bearer scheme (RFC 6750; any case)."""
    if authorization is None:
        return False
    return authorization.strip(" \t").partition(" ")[0].lower() == "bearer"


def is_balance(incoming: Incoming) -> bool:
    """Whether the request is for the Balance API, which takes access tokens only (D23)."""
    path = urlsplit(incoming.url).path.encode("latin-1")
    return path.startswith(balance.PREFIX)


def is_psd2(project: Project) -> bool:
    """Whether ``project`` authenticates with OAuth 2.0 tokens (D23)."""
    return project.region in PSD2_REGIONS


class BearerAuthenticator:
    """Verifies request tokens and access tokens against the gate's registry cache."""

    def __init__(
        self,
        registry: RegistryCache,
        nonces: NonceGuard,
        *,
        access_token_owner: AccessTokenLookup | None = None,
        tolerance: int = DEFAULT_TOLERANCE,
        now: Callable[[], float],
    ) -> None:
        self._registry = registry
        self._nonces = nonces
        self._access_token_owner = access_token_owner
        self._tolerance = tolerance
        self._now = now

    def authenticate(self, incoming: Incoming, authorization: str) -> BearerAdmission:
        """Admit ``incoming`` or raise the D23 refusal (see the module docstring)."""
        if is_balance(incoming):
            return self._access_token(incoming, authorization)
        return self._request_token(incoming, authorization)

    def _request_token(self, incoming: Incoming, authorization: str) -> BearerAdmission:
        found: list[tuple[Project, Project | None, int]] = []

        def certificate_for(consumer_key: str) -> str | None:
            access = self._registry.access(consumer_key, incoming.partner_id)
            if access.project is None:
                return None  # unknown kid: 401
            if not is_psd2(access.project):
                raise AuthDeclined("a Bearer token to a global project")  # D23
            found.append((access.project, access.partner_project, access.stamp))
            return access.project.signing_certificate

        now = self._now()
        token = verify_request_token(
            authorization, certificate_for=certificate_for, now=int(now), tolerance=self._tolerance
        )
        project, partner_project, stamp = found[0]
        if not is_entitled(project, partner_project):
            raise AuthDeclined("project not entitled to this partner")  # D13
        if self._nonces.seen(project.consumer_key, token.jti, now):
            raise AuthDeclined("request token jti seen before")  # D23
        # The jti goes into the nonce store, whose purge deletes rows whose timestamp is older
        # than tolerance + 60 s before now. A token is accepted until exp + tolerance
        # (accepted_until), so its row is stamped accepted_until: it is kept at least until
        # every copy of the token would be refused as expired anyway (D23: "accepted once
        # within its lifetime").
        return BearerAdmission(
            project, stamp, Nonce(project.consumer_key, token.jti, token.accepted_until)
        )

    def _access_token(self, incoming: Incoming, authorization: str) -> BearerAdmission:
        token = authorization.strip(" \t").partition(" ")[2].strip(" ")
        if not token:
            raise AuthHeaderInvalid("Bearer without a token")  # D23
        owner = self._access_token_owner
        consumer_key = owner(token, self._now()) if owner is not None else None
        if consumer_key is None:
            raise AuthDeclined("the Balance API takes a live access token only")  # D23
        access = self._registry.access(consumer_key, incoming.partner_id)
        project = access.project
        if project is None or not is_psd2(project):
            raise AuthDeclined("access token of a project that is gone or global")
        if not is_entitled(project, access.partner_project):
            raise AuthDeclined("project not entitled to this partner")  # D13
        return BearerAdmission(project, access.stamp, None)
