"""OAuth 2.0 for the PSD2 EU and UK hosts (D23, docs/reference.md §8.2): the Balance API's access
tokens, and one auth that picks the right token for each API.

:class:`AccessTokenAuth` sends ``Authorization: Bearer <access token>``. Given none, it runs
the authorization-code flow against the server's ``/oauth2/authorize`` and ``/oauth2/token``
(xborder's authorization server; a sandbox project's consent is automatic), authenticating
itself at the token endpoint with a request token, and refreshes the access token by the
refresh token before it expires. An mtf or production project's grant waits for an operator:
the auth raises :class:`ConsentPending` and collects the code on a later call.

:class:`Psd2Auth` is what an eu/uk client passes to ``XborderClient(auth=…)``: a request
token on every API, an access token on the Balance API (which refuses request tokens).

The token requests are sent by the client's own ``httpx`` client, inside the auth flow, so
it must not follow redirects (``XborderClient``'s does not): the authorization endpoint
answers the code as a redirect to ``redirect_uri``, which is never visited.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from xborder.client._errors import AuthorizationError, ConsentPending
from xborder.client._request_token_auth import RequestTokenAuth

__all__ = ["AccessTokenAuth", "Psd2Auth"]

DEFAULT_REDIRECT_URI = "http://localhost/xborder-client/callback"
"""Where codes are "sent": never visited, the client reads the code from the redirect."""
EXPIRY_MARGIN = 30
"""Seconds before ``expires_in`` runs out at which an access token is renewed."""

_BALANCE = re.compile(r"/send/partners/[^/]+/crossborder/accounts(/|$)")
Flow = Generator[httpx.Request, httpx.Response, None]


class AccessTokenAuth(httpx.Auth):
    """Authenticates Balance API requests with an access token of the authorization-code flow.

    Args:
        request_token: the project's :class:`RequestTokenAuth`, which authenticates the client
            at the token endpoint (its consumer key is the ``client_id``).
        access_token: one obtained out of band (Mastercard's reference client is configured
            so); with ``refresh_token`` it is renewed when the server refuses it.
        refresh_token: renews the access token without a new consent.
        redirect_uri: the redirect URI codes are bound to.
        authorize_url, token_url: the authorization server's endpoints; by default
            ``/oauth2/authorize`` and ``/oauth2/token`` of the API's own host.
        clock: Unix time now; tests pass their own.
    """

    requires_response_body = True

    def __init__(
        self,
        request_token: RequestTokenAuth,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        authorize_url: str | None = None,
        token_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._request_token = request_token
        self._access = access_token
        self._access_until = float("inf") if access_token else 0.0
        self._refresh = refresh_token
        self._redirect_uri = redirect_uri
        self._authorize_url = authorize_url
        self._token_url = token_url
        self._clock = clock
        self._pending: str | None = None  # the poll URL of a grant waiting for consent

    def auth_flow(self, request: httpx.Request) -> Flow:
        """Obtain or renew the access token when needed, then send ``request`` with it; once
        more with a renewed token when the server refuses a token it had accepted."""
        fresh = False
        if self._access is None or self._clock() >= self._access_until:
            yield from self._obtain(request.url)
            fresh = True
        request.headers["Authorization"] = f"Bearer {self._access}"
        response = yield request
        if response.status_code == 401 and not fresh and self._refresh is not None:
            self._access = None  # revoked or expired early: renew once
            yield from self._obtain(request.url)
            request.headers["Authorization"] = f"Bearer {self._access}"
            yield request

    def _obtain(self, url: httpx.URL) -> Flow:
        if self._refresh is not None:
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh}
            response = yield self._token_request(url, form)
            if response.status_code == 200:
                self._store(response)
                return
            self._refresh = None  # expired or revoked: a new consent is needed
        code = yield from self._code(url)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
        }
        response = yield self._token_request(url, form)
        if response.status_code != 200:
            raise _refusal(response)
        self._store(response)

    def _code(self, url: httpx.URL) -> Generator[httpx.Request, httpx.Response, str]:
        state = secrets.token_urlsafe(16)
        if self._pending is not None:
            response = yield httpx.Request("GET", self._pending)
        else:
            params = {
                "response_type": "code",
                "client_id": self._request_token.consumer_key,
                "redirect_uri": self._redirect_uri,
                "state": state,
            }
            authorize = self._authorize_url or url.join("/oauth2/authorize")
            response = yield httpx.Request("GET", authorize, params=params)
        if response.status_code == 202:
            pending = _json(response)
            self._pending = str(url.join(str(pending.get("poll", ""))))
            raise ConsentPending(str(pending.get("grant_id", "")), self._pending)
        if response.status_code != 302:
            raise _refusal(response)
        collected = self._pending is not None
        self._pending = None
        answer = httpx.URL(response.headers.get("location", "")).params
        if "error" in answer:
            raise AuthorizationError(302, answer["error"], answer.get("error_description"))
        if "code" not in answer or (not collected and answer.get("state") != state):
            raise AuthorizationError(302, "invalid_response", "no code, or another state")
        return answer["code"]

    def _token_request(self, url: httpx.URL, form: dict[str, str]) -> httpx.Request:
        request = httpx.Request("POST", self._token_url or url.join("/oauth2/token"), data=form)
        return next(iter(self._request_token.auth_flow(request)))  # signs it, once

    def _store(self, response: httpx.Response) -> None:
        tokens = _json(response)
        access, expires_in = tokens.get("access_token"), tokens.get("expires_in")
        if not isinstance(access, str) or not isinstance(expires_in, int):
            raise AuthorizationError(response.status_code, "invalid_response", "no access token")
        self._access = access
        self._access_until = self._clock() + max(expires_in - EXPIRY_MARGIN, 0)
        refresh = tokens.get("refresh_token")
        self._refresh = refresh if isinstance(refresh, str) else self._refresh

    def __repr__(self) -> str:
        return f"AccessTokenAuth(consumer_key={self._request_token.consumer_key!r})"


class Psd2Auth(httpx.Auth):
    """An eu/uk project's auth (D23): a request token on every API but Balance, an access
    token on the Balance API. ``access_token`` defaults to an :class:`AccessTokenAuth` that
    runs the authorization-code flow with ``request_token``."""

    requires_response_body = True

    def __init__(
        self, request_token: RequestTokenAuth, access_token: AccessTokenAuth | None = None
    ) -> None:
        self.request_token = request_token
        self.access_token = access_token or AccessTokenAuth(request_token)

    def auth_flow(self, request: httpx.Request) -> Flow:
        """Delegate to the auth the request's API takes."""
        chosen: httpx.Auth = self.request_token
        if _BALANCE.search(request.url.path):
            chosen = self.access_token
        yield from chosen.auth_flow(request)

    def __repr__(self) -> str:
        return f"Psd2Auth(consumer_key={self.request_token.consumer_key!r})"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _refusal(response: httpx.Response) -> AuthorizationError:
    document = _json(response)
    error = document.get("error")
    description = document.get("error_description")
    return AuthorizationError(
        response.status_code,
        error if isinstance(error, str) else "unexpected_response",
        description if isinstance(description, str) else None,
    )
