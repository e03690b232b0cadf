"""D23's authorization-code flow through the in-process app, on SQLite and PostgreSQL:
``/oauth2/authorize``, the operator's consent in the admin API, ``/oauth2/token`` with a
request token as client authentication, and the Balance API taking only the access token.

| consumer key | region | environment | partner bound |
|---|---|---|---|
| ``EU_KEY`` | eu | sandbox (consent automatic) | |
| ``UK_KEY`` | uk | mtf (consent by an operator) | ``UK_PARTNER`` |
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from httpx2 import Response
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.e2e.security.conftest import BASE, SANDBOX_KEY, Keys, gateway_error
from tests.e2e.security.psd2 import (
    KeyPair,
    add_psd2_project,
    bearer,
    ec_key_pair,
    key_pair_of,
)
from tests.payloads import PARTNER
from tests.signing import mastercard_header
from xborder.api.app import create_app
from xborder.cli import main
from xborder.clock import FixedClock
from xborder.config import Settings
from xborder.domain.oauth2 import token_hash
from xborder.domain.projects import Environment, Region
from xborder.storage.tables import oauth2_tokens
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

EU_KEY = "eu-oauth2!0123456789abcdef"
UK_KEY = "uk-oauth2!fedcba9876543210"
UK_PARTNER = "UK_OAUTH2_PARTNER1"
ADMIN = "admin-secret-for-tests"
CALLBACK = "https://client.example/callback?keep=1"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ACCOUNTS = f"/send/partners/{PARTNER}/crossborder/accounts"
DECLINED = (401, "DECLINED")


@dataclasses.dataclass
class Flow:
    http: TestClient
    eu: KeyPair
    uk: KeyPair
    keys: Keys

    def authorize(self, client_id: str = EU_KEY, **params: str) -> Response:
        query = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK}
        query |= {"state": "xyz"} | params
        return self.http.get("/oauth2/authorize", params=query, follow_redirects=False)

    def code(self, client_id: str = EU_KEY) -> str:
        response = self.authorize(client_id)
        assert response.status_code == 302, response.text
        return redirected(response)["code"]

    def token(
        self, form: dict[str, str], *, pair: KeyPair | None = None, consumer_key: str = EU_KEY
    ) -> Response:
        authorization = bearer(pair or self.eu, consumer_key, now=int(time.time()))
        headers = FORM | {"Authorization": authorization}
        return self.http.post("/oauth2/token", data=form, headers=headers)

    def exchange(self, code: str, **kwargs: Any) -> Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
        return self.token(form, **kwargs)

    def balance(self, authorization: str, path: str = ACCOUNTS) -> Response:
        return self.http.get(path, headers={"Authorization": authorization})

    def admin(self, method: str, path: str) -> Response:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        return self.http.request(method, "/admin/v1" + path, headers=headers)


def redirected(response: Response) -> dict[str, str]:
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK.split("?")[0]
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params.pop("keep") == "1"  # the redirect URI's own query is kept
    return params


def oauth_error(response: Response) -> tuple[int, str]:
    assert response.headers["cache-control"] == "no-store"
    return response.status_code, response.json()["error"]


@pytest.fixture
def flow(
    signed_settings: Settings, engine: Engine, clock: FixedClock, registered: None, keys: Keys
) -> Iterator[Flow]:
    uow_factory = SqlAlchemyUowFactory(engine)
    eu, uk = key_pair_of(keys.signer), ec_key_pair("uk oauth2")
    add_psd2_project(uow_factory, EU_KEY, eu.cert_pem, region=Region.EU)
    add_psd2_project(
        uow_factory,
        UK_KEY,
        uk.cert_pem,
        region=Region.UK,
        environment=Environment.MTF,
        partner=UK_PARTNER,
    )
    app = create_app(signed_settings.replace(admin_token=ADMIN), engine=engine, clock=clock)
    with TestClient(app, base_url=BASE) as http:
        yield Flow(http, eu, uk, keys)


# --- the sandbox flow, end to end ------------------------------------------------------------


def test_code_token_balance_and_refresh(flow: Flow) -> None:
    response = flow.authorize()
    assert response.status_code == 302
    params = redirected(response)
    assert params["state"] == "xyz" and params["code"]
    issued = flow.exchange(params["code"])
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    tokens = issued.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token_expires_in"] == 90 * 24 * 3600
    accounts = flow.balance(f"Bearer {tokens['access_token']}")
    assert accounts.status_code == 200, accounts.text
    assert isinstance(accounts.json(), list)

    refreshed = flow.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    fresh = refreshed.json()
    assert fresh["access_token"] != tokens["access_token"]
    assert 0 < fresh["refresh_token_expires_in"] <= 90 * 24 * 3600
    assert flow.balance(f"Bearer {fresh['access_token']}").status_code == 200


def test_tokens_are_stored_hashed_only(flow: Flow, engine: Engine) -> None:
    tokens = flow.exchange(flow.code()).json()
    with engine.connect() as connection:
        stored = {row.token_hash for row in connection.execute(sa.select(oauth2_tokens))}
    assert token_hash(tokens["access_token"]) in stored
    assert token_hash(tokens["refresh_token"]) in stored
    assert tokens["access_token"] not in stored and tokens["refresh_token"] not in stored


def test_a_code_is_single_use_and_its_reuse_revokes_the_grant(flow: Flow) -> None:
    code = flow.code()
    tokens = flow.exchange(code).json()
    assert oauth_error(flow.exchange(code)) == (400, "invalid_grant")
    assert gateway_error(flow.balance(f"Bearer {tokens['access_token']}")) == DECLINED
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert oauth_error(flow.token(refresh)) == (400, "invalid_grant")


def test_a_spent_refresh_token_presented_again_revokes_the_grant(flow: Flow) -> None:
    tokens = flow.exchange(flow.code()).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    fresh = flow.token(refresh).json()
    assert oauth_error(flow.token(refresh)) == (400, "invalid_grant")
    assert gateway_error(flow.balance(f"Bearer {fresh['access_token']}")) == DECLINED


def test_code_with_another_redirect_uri_or_of_another_client_is_invalid_grant(
    flow: Flow,
) -> None:
    code = flow.code()
    other_uri = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK + "x"}
    assert oauth_error(flow.token(other_uri)) == (400, "invalid_grant")
    assert oauth_error(flow.exchange(code, pair=flow.uk, consumer_key=UK_KEY)) == (
        400,
        "invalid_grant",
    )
    assert flow.exchange(code).status_code == 200  # neither refusal spent the code


def test_unknown_code_is_invalid_grant(flow: Flow) -> None:
    assert oauth_error(flow.exchange("no-such-code")) == (400, "invalid_grant")


# --- client authentication at the token endpoint ---------------------------------------------


def test_token_request_without_a_request_token_is_invalid_client(flow: Flow) -> None:
    form = {"grant_type": "authorization_code", "code": flow.code(), "redirect_uri": CALLBACK}
    response = flow.http.post("/oauth2/token", data=form, headers=FORM)
    assert oauth_error(response) == (401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_client"'


def test_a_request_token_is_accepted_once_at_the_token_endpoint(flow: Flow) -> None:
    authorization = bearer(flow.eu, EU_KEY, now=int(time.time()))
    headers = FORM | {"Authorization": authorization}
    form = {"grant_type": "authorization_code", "code": flow.code(), "redirect_uri": CALLBACK}
    assert flow.http.post("/oauth2/token", data=form, headers=headers).status_code == 200
    form["code"] = flow.code()
    replay = flow.http.post("/oauth2/token", data=form, headers=headers)
    assert oauth_error(replay) == (401, "invalid_client")


def test_a_refused_token_request_still_spends_its_request_token(flow: Flow) -> None:
    # D23, issue 12: the refusal is committed with the jti in the writer's group, not rolled
    # back with the unit that raised it
    authorization = bearer(flow.eu, EU_KEY, now=int(time.time()))
    headers = FORM | {"Authorization": authorization}
    form = {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": CALLBACK}
    refused = flow.http.post("/oauth2/token", data=form, headers=headers)
    assert oauth_error(refused) == (400, "invalid_grant")
    form["code"] = flow.code()
    replay = flow.http.post("/oauth2/token", data=form, headers=headers)
    assert oauth_error(replay) == (401, "invalid_client")


def test_a_global_projects_request_token_is_invalid_client(flow: Flow) -> None:
    response = flow.exchange(flow.code(), consumer_key=SANDBOX_KEY)  # its own key, a global one
    assert oauth_error(response) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "u"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "redirect_uri": CALLBACK}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "c"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
    ],
)
def test_bad_token_requests_are_400(flow: Flow, form: dict[str, str], error: str) -> None:
    assert oauth_error(flow.token(form)) == (400, error)


def test_repeated_parameter_and_wrong_media_type_are_invalid_request(flow: Flow) -> None:
    authorization = bearer(flow.eu, EU_KEY, now=int(time.time()))
    repeated = flow.http.post(
        "/oauth2/token",
        content=b"grant_type=refresh_token&refresh_token=a&refresh_token=b",
        headers=FORM | {"Authorization": authorization},
    )
    assert oauth_error(repeated) == (400, "invalid_request")
    as_json = flow.http.post(
        "/oauth2/token",
        json={"grant_type": "refresh_token", "refresh_token": "a"},
        headers={"Authorization": authorization},
    )
    assert oauth_error(as_json) == (400, "invalid_request")


# --- the authorization endpoint's refusals ---------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"client_id": "nobody"}, "invalid_request"),
        ({"client_id": SANDBOX_KEY}, "unauthorized_client"),  # a global project (D23)
        ({"redirect_uri": "not-a-uri"}, "invalid_request"),
        ({"redirect_uri": "https://client.example/cb#fragment"}, "invalid_request"),
        ({"redirect_uri": "javascript://alert(1)"}, "invalid_request"),
        ({"state": "s" * 501}, "invalid_request"),
    ],
)
def test_authorize_refusals_are_400_and_never_redirect(
    flow: Flow, params: dict[str, str], error: str
) -> None:
    query = dict(params)  # parametrize shares the dict between the two databases
    client_id = query.pop("client_id", EU_KEY)
    response = flow.authorize(client_id, **query)
    assert oauth_error(response) == (400, error)
    assert "location" not in response.headers


def test_unsupported_response_type_is_redirected(flow: Flow) -> None:
    response = flow.authorize(response_type="token")
    assert response.status_code == 302
    assert redirected(response) == {"error": "unsupported_response_type", "state": "xyz"}


# --- the Balance API takes access tokens only ------------------------------------------------


def test_balance_refuses_request_tokens_oauth1_and_unknown_tokens(flow: Flow) -> None:
    assert gateway_error(flow.balance(bearer(flow.eu, EU_KEY, now=int(time.time())))) == DECLINED
    signed = mastercard_header(BASE + ACCOUNTS, "GET", b"", EU_KEY, flow.keys.signer.key)
    assert gateway_error(flow.balance(signed)) == DECLINED
    assert gateway_error(flow.balance("Bearer not-an-issued-token")) == DECLINED
    assert gateway_error(flow.balance("Bearer")) == (400, "INVALID_AUTH_HEADER")
    assert gateway_error(flow.balance("Basic dXNlcjpwYXNz")) == (400, "INVALID_AUTH_HEADER")


def test_an_access_token_reaches_only_its_projects_partners(flow: Flow) -> None:
    tokens = flow.exchange(flow.code()).json()
    other = f"/send/partners/{UK_PARTNER}/crossborder/accounts"  # bound to an mtf project
    assert gateway_error(flow.balance(f"Bearer {tokens['access_token']}", other)) == DECLINED


def test_an_access_token_is_not_a_request_token(flow: Flow) -> None:
    tokens = flow.exchange(flow.code()).json()
    response = flow.http.get(
        f"/send/v1/partners/{PARTNER}/crossborder?ref=NOT-THERE",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert gateway_error(response) == (400, "INVALID_AUTH_HEADER")


# --- consent by an operator (mtf) ------------------------------------------------------------


def test_mtf_grant_waits_for_the_operator_then_issues_its_code(flow: Flow) -> None:
    held = flow.authorize(UK_KEY)
    assert held.status_code == 202, held.text
    grant_id, poll = held.json()["grant_id"], held.json()["poll"]
    assert flow.http.get(poll, follow_redirects=False).status_code == 202
    pending = flow.admin("GET", "/oauth2/grants").json()["grants"]
    assert [g["grantId"] for g in pending] == [grant_id]
    assert pending[0]["consumerKey"] == UK_KEY and pending[0]["status"] == "PENDING"

    approved = flow.admin("POST", f"/oauth2/grants/{grant_id}/approve")
    assert approved.status_code == 200 and approved.json()["grant"]["status"] == "APPROVED"
    assert flow.admin("GET", "/oauth2/grants").json()["grants"] == []
    collected = flow.http.get(poll, follow_redirects=False)
    assert collected.status_code == 302
    code = redirected(collected)["code"]
    assert oauth_error(flow.http.get(poll, follow_redirects=False)) == (400, "invalid_request")

    tokens = flow.exchange(code, pair=flow.uk, consumer_key=UK_KEY).json()
    balance = flow.balance(
        f"Bearer {tokens['access_token']}", f"/send/partners/{UK_PARTNER}/crossborder/accounts"
    )
    assert balance.status_code == 200, balance.text


def test_a_denied_grant_redirects_with_access_denied(flow: Flow) -> None:
    grant_id = flow.authorize(UK_KEY).json()["grant_id"]
    assert flow.admin("POST", f"/oauth2/grants/{grant_id}/deny").status_code == 200
    response = flow.http.get(f"/oauth2/authorize/{grant_id}", follow_redirects=False)
    assert redirected(response) == {"error": "access_denied", "state": "xyz"}
    again = flow.admin("POST", f"/oauth2/grants/{grant_id}/approve")
    assert again.status_code == 409


def test_unknown_grants_are_404(flow: Flow) -> None:
    assert flow.admin("POST", "/oauth2/grants/nope/approve").status_code == 404
    response = flow.http.get("/oauth2/authorize/nope", follow_redirects=False)
    assert oauth_error(response) == (404, "invalid_request")


def test_admin_grants_need_the_admin_token(flow: Flow) -> None:
    assert flow.http.get("/admin/v1/oauth2/grants").status_code == 401


# --- revocation from the command line --------------------------------------------------------


def test_cli_revokes_a_tokens_grant_and_a_projects_tokens(
    flow: Flow, signed_settings: Settings
) -> None:
    url = str(signed_settings.effective_database_url)
    first = flow.exchange(flow.code()).json()
    second = flow.exchange(flow.code()).json()
    run = CliRunner().invoke(
        main, ["tokens", "revoke", "--token", first["refresh_token"], "--database-url", url]
    )
    assert run.exit_code == 0, run.output
    assert "2 live token(s) revoked" in run.output  # its access token and itself
    assert gateway_error(flow.balance(f"Bearer {first['access_token']}")) == DECLINED
    assert flow.balance(f"Bearer {second['access_token']}").status_code == 200

    run = CliRunner().invoke(main, ["tokens", "revoke", "--project", EU_KEY, "--database-url", url])
    assert run.exit_code == 0, run.output
    assert gateway_error(flow.balance(f"Bearer {second['access_token']}")) == DECLINED

    unknown = CliRunner().invoke(
        main, ["tokens", "revoke", "--token", "never-issued", "--database-url", url]
    )
    assert unknown.exit_code != 0 and "never issued" in unknown.output
