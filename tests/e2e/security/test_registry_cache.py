"""A running app's cache of projects and bindings follows changes made by another process
(issue 12): decisions that would admit are checked in the request's transaction; refusals are
confirmed on the registry as it is now (D11, D13)."""

from __future__ import annotations

from httpx2 import Response  # what starlette.testclient answers with
from sqlalchemy.engine import Engine

from tests.e2e.security.conftest import MTF_KEY, MTF_PARTNER, SANDBOX_KEY, Api, gateway_error
from xborder.clock import SystemClock
from xborder.services import projects
from xborder.storage.unit_of_work import SqlAlchemyUowFactory

NEW_PARTNER = "MTF_PARTNER2"


def test_a_partner_bound_by_another_process_is_reachable_at_once(api: Api, engine: Engine) -> None:
    # the app caches NEW_PARTNER as unbound (a sandbox partner) ...
    assert api.call("GET", "?ref=NONE", partner=NEW_PARTNER).status_code == 404
    mtf = api.keys.mtf_signer
    assert gateway_error(api.call("GET", "?ref=NONE", partner=NEW_PARTNER, consumer_key=MTF_KEY,
                                  key=mtf)) == (401, "DECLINED")  # fmt: skip
    # ... then an operator binds it to the mtf project from the command line
    projects.bind_partner(NEW_PARTNER, MTF_KEY, uow_factory=SqlAlchemyUowFactory(engine),
                          clock=SystemClock())  # fmt: skip
    answer = api.call("GET", "?ref=NONE", partner=NEW_PARTNER, consumer_key=MTF_KEY, key=mtf)
    assert answer.status_code == 404  # admitted: the payment simply does not exist
    # and the sandbox project, entitled a moment ago, is refused from now on (D13)
    assert gateway_error(api.call("GET", "?ref=NONE", partner=NEW_PARTNER)) == (401, "DECLINED")


def test_a_project_removed_by_another_process_is_refused_at_once(api: Api, engine: Engine) -> None:
    assert api.call("GET", "?ref=NONE").status_code == 404  # SANDBOX_KEY is cached now
    uow_factory = SqlAlchemyUowFactory(engine)
    projects.remove_project(SANDBOX_KEY, unbind_partners=True, uow_factory=uow_factory)
    assert gateway_error(api.call("GET", "?ref=NONE")) == (401, "DECLINED")


def test_an_unbinding_seen_inside_the_transaction_decides_again(api: Api, engine: Engine) -> None:
    mtf = api.keys.mtf_signer

    def call() -> Response:
        return api.call("GET", "?ref=NONE", partner=MTF_PARTNER, consumer_key=MTF_KEY, key=mtf)

    assert call().status_code == 404  # cached: bound to MTF_KEY
    projects.unbind_partner(MTF_PARTNER, uow_factory=SqlAlchemyUowFactory(engine))
    assert gateway_error(call()) == (401, "DECLINED")
