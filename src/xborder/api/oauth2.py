"""The authorization server of the Balance API of eu and uk projects (D23), as Starlette
routes. RFC 6749's authorization-code grant; answers and errors are its JSON.

=======  ===============================  ==================================================
method   path                             what
=======  ===============================  ==================================================
GET      /oauth2/authorize                ``response_type=code&client_id=<consumer key>&
                                          redirect_uri=<uri>[&state=<s>]``: a sandbox
                                          project gets 302 to ``<uri>?code=…&state=<s>`` at
                                          once; an mtf or production project gets 202
                                          ``{"grant_id", "status": "PENDING", "poll"}``
GET      /oauth2/authorize/{grant_id}     the held request: 202 while pending, then 302 with
                                          the code once an operator approved it (admin API
                                          ``/admin/v1/oauth2/grants``), or with
                                          ``error=access_denied`` once denied
POST     /oauth2/token                    form ``grant_type=authorization_code&code=…&
                                          redirect_uri=…`` or ``grant_type=refresh_token&
                                          refresh_token=…``, with ``Authorization: Bearer
                                          <request token>``: 200 ``{access_token,
                                          token_type, expires_in, refresh_token,
                                          refresh_token_expires_in}``
=======  ===============================  ==================================================

Decisions (the issue is silent): projects register no redirect URIs, so any absolute http(s)
URI without a fragment is accepted and the code is bound to it (the token request must name
the same one); an unknown ``client_id``, a global project's, or an unusable ``redirect_uri``
is answered 400 JSON, never redirected (RFC 6749 §4.1.2.1). The client authenticates at the
token endpoint by a request token alone (no ``client_id`` parameter needed); a refused one is
401 ``invalid_client``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from xborder.api.request_tokens import is_psd2
from xborder.domain.oauth2 import GrantStatus
from xborder.domain.projects import Project
from xborder.security.errors import SecurityError
from xborder.security.request_token import verify_request_token
from xborder.services import oauth2
from xborder.services.errors import (
    GrantNotFound,
    InvalidClient,
    InvalidRequest,
    OAuth2Error,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from xborder.services.payments import UowFactory
from xborder.services.unit_of_work import WriteRunner

log = logging.getLogger("xborder.oauth2")
T = TypeVar("T")

AUTHORIZE = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a password
MAX_FORM = 16 * 1024
MAX_STATE = 500
MAX_REDIRECT_URI = 2000
_FORM = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


def oauth2_routes(
    uow_factory: UowFactory, write: WriteRunner, *, now: Callable[[], float] = time.time
) -> list[BaseRoute]:
    """The authorization server's routes; ``now`` is wall time, as for request tokens. Its
    reads use ``uow_factory``; its writes are units of ``write``, the process's writer."""
    server = _Server(uow_factory, write, now)
    return [
        Route(AUTHORIZE, server.authorize, methods=["GET"]),
        Route(AUTHORIZE + "/{grant_id}", server.collect, methods=["GET"]),
        Route(TOKEN_PATH, server.token, methods=["POST"]),
    ]


class _Server:
    def __init__(self, uow_factory: UowFactory, write: WriteRunner, now: Callable[[], float]):
        self._uow_factory = uow_factory
        self._write = write
        self._now = now

    def _written(self, use_case: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``use_case(*args, **kwargs, uow_factory=...)`` as one unit of the writer.

        A use case of this server may commit and then refuse (a spent ``jti`` stays spent, a
        reused code's revocation holds): the unit hands the refusal back as its value, so the
        writer commits what the use case did, and it is raised here after that commit.
        """

        def unit(factory: UowFactory) -> tuple[T | None, OAuth2Error | None]:
            try:
                return use_case(*args, uow_factory=factory, **kwargs), None
            except OAuth2Error as exc:
                return None, exc

        result, refusal = self._write(unit)
        if refusal is not None:
            raise refusal
        return result  # type: ignore[return-value]

    async def authorize(self, request: Request) -> Response:
        try:
            params = _single(request.query_params.multi_items())
            redirect_uri = _redirect_uri(params.get("redirect_uri"))
            state = _state(params.get("state"))
            project = await self._authorized_project(params.get("client_id"))
        except OAuth2Error as exc:
            return _error(exc)
        if params.get("response_type") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", state=state)
        authorization = await run_in_threadpool(
            self._written,
            oauth2.request_authorization,
            project,
            redirect_uri,
            state,
            now=self._now(),
        )
        return _answer(authorization)

    async def collect(self, request: Request) -> Response:
        try:
            authorization = await run_in_threadpool(
                self._written, oauth2.collect_code, request.path_params["grant_id"], now=self._now()
            )
        except GrantNotFound:
            return _error(InvalidRequest("no such grant"), status=404)
        return _answer(authorization)

    async def token(self, request: Request) -> Response:
        try:
            form = _single(await _form(request))
            grant_type = form.get("grant_type")
            if not grant_type:
                raise InvalidRequest("grant_type is missing")
            if grant_type not in ("authorization_code", "refresh_token"):
                raise UnsupportedGrantType(f"grant_type {grant_type!r}")
            issued = await run_in_threadpool(self._grant, grant_type, form, request)
        except OAuth2Error as exc:
            return _error(exc)
        document = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token,
            "refresh_token_expires_in": issued.refresh_token_expires_in,
        }
        return JSONResponse(document, headers=_NO_STORE)

    def _grant(self, grant_type: str, form: dict[str, str], request: Request) -> oauth2.Issued:
        now = self._now()
        if grant_type == "authorization_code":
            code, redirect_uri = _required(form, "code"), _required(form, "redirect_uri")
            client = self._client(request.headers.get("authorization"), now)
            return self._written(oauth2.exchange_code, client, code, redirect_uri, now=now)
        refresh_token = _required(form, "refresh_token")
        client = self._client(request.headers.get("authorization"), now)
        return self._written(oauth2.refresh, client, refresh_token, now=now)

    def _client(self, authorization: str | None, now: float) -> oauth2.Client:
        """The client, authenticated by its request token (D23)."""

        def certificate_for(consumer_key: str) -> str | None:
            project = oauth2.project_of(consumer_key, uow_factory=self._uow_factory)
            if project is None or not is_psd2(project):
                return None
            return project.signing_certificate

        try:
            token = verify_request_token(
                authorization, certificate_for=certificate_for, now=int(now)
            )
        except SecurityError as exc:
            log.info("token request refused: %s", exc.reason)
            raise InvalidClient("client authentication failed") from exc
        return oauth2.Client(token.consumer_key, token.jti, token.accepted_until)

    async def _authorized_project(self, client_id: str | None) -> Project:
        if not client_id:
            raise InvalidRequest("client_id is missing")
        project = await run_in_threadpool(
            oauth2.project_of, client_id, uow_factory=self._uow_factory
        )
        if project is None:
            raise InvalidRequest("unknown client_id")
        if not is_psd2(project):
            raise UnauthorizedClient("the project is not an eu or uk one")  # D23
        return project


def _answer(authorization: oauth2.Authorization) -> Response:
    grant = authorization.grant
    if authorization.code is not None:
        return _redirect(grant.redirect_uri, code=authorization.code, state=grant.state)
    if grant.status is GrantStatus.DENIED:
        return _redirect(grant.redirect_uri, error="access_denied", state=grant.state)
    if grant.status is GrantStatus.PENDING:
        document = {
            "grant_id": grant.grant_id,
            "status": grant.status.value,
            "poll": f"{AUTHORIZE}/{grant.grant_id}",
        }
        return JSONResponse(document, status_code=202, headers=_NO_STORE)
    return _error(InvalidRequest("the code of this grant was collected before"))


def _redirect(uri: str, **params: str | None) -> Response:
    query = urlencode({name: value for name, value in params.items() if value is not None})
    separator = "&" if urlsplit(uri).query else ("" if uri.endswith("?") else "?")
    return RedirectResponse(uri + separator + query, status_code=302, headers=_NO_STORE)


def _error(exc: OAuth2Error, *, status: int | None = None) -> Response:
    """RFC 6749 §5.2: 401 with ``WWW-Authenticate`` for ``invalid_client``, else 400."""
    headers = dict(_NO_STORE)
    if status is None and isinstance(exc, InvalidClient):
        status = 401
        headers["WWW-Authenticate"] = 'Bearer error="invalid_client"'
    document = {"error": exc.error, "error_description": str(exc)}
    return JSONResponse(document, status_code=status or 400, headers=headers)


async def _form(request: Request) -> list[tuple[str, str]]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != _FORM:
        raise InvalidRequest(f"the body must be {_FORM}")
    body = await request.body()
    if len(body) > MAX_FORM:
        raise InvalidRequest("the body is too large")
    try:
        return parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeError, ValueError) as exc:
        raise InvalidRequest("the body is not a form") from exc


def _single(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """RFC 6749 §3.1: a parameter must not be repeated."""
    params: dict[str, str] = {}
    for name, value in items:
        if name in params:
            raise InvalidRequest(f"{name} is repeated")
        params[name] = value
    return params


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise InvalidRequest(f"{name} is missing")
    return value


def _redirect_uri(value: str | None) -> str:
    if not value:
        raise InvalidRequest("redirect_uri is missing")
    parts = urlsplit(value)
    if (
        len(value) > MAX_REDIRECT_URI
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.fragment
        or "#" in value
    ):
        raise InvalidRequest("redirect_uri must be an absolute http(s) URI, no fragment")
    return value


def _state(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_STATE:
        raise InvalidRequest(f"state is longer than {MAX_STATE} characters")
    return value
