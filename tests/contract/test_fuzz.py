"""Contract fuzzing (D21): schemathesis against a live ``xborder serve`` over real HTTP.

The schema is what the server itself serves at ``GET /openapi.json``. Every operation is
fuzzed with data the description allows and data it does not, in JSON and XML, unsigned
(``XBORDER_AUTH=off``, D11's development mode) and signed with Mastercard's own signer. The
stateful run follows the description's links: create -> retrieve -> cancel -> retrieve.

Held for every response: no 5xx; status, content type, headers and body as described; a
value the description does not allow is refused (4xx); and a refused request changes no
state (the database's tables, nonces aside, are the same before and after).

Bounded by ``XBORDER_FUZZ_EXAMPLES``: examples per operation, mode and generation mode,
and scenarios per stateful run (of up to :data:`STEPS` calls). ``make test`` runs 40 (about
a minute on 2 workers); ``make fuzz`` runs 1000 and adds :func:`test_stateful_links_long`,
skipped unless the variable is set. Each failure prints the request as curl.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.contract.live import Live, live_server
from tests.payloads import payment_request
from xborder.api.codecs import XML, DecodeError
from xborder.api.openapi import openapi_document
from xborder.domain.request import ROOT as PAYMENT_REQUEST
from xborder.domain.states import PaymentStatus
from xborder.sandbox.scenarios import outcome_for

LONG = "XBORDER_FUZZ_EXAMPLES" in os.environ
"""Asked for a long run (make fuzz)."""
EXAMPLES = int(os.environ.get("XBORDER_FUZZ_EXAMPLES", "40"))
"""Examples per operation and generation mode, and scenarios per stateful run."""
STEPS = 8
"""Calls per stateful scenario: enough for create -> retrieve -> cancel -> retrieve."""
LONG_STEPS = 30
ACCEPT = ("application/json", "application/xml")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
pytestmark = [pytest.mark.fuzz, pytest.mark.slow]
CREATE = "/send/v1/partners/{partner-id}/crossborder/payment"
CANCEL = "/send/v1/partners/{partner-id}/crossborder/{payment-id}/cancel"
TIMEOUT = 30


def sandbox_refusal(case: schemathesis.Case) -> bool:
    """Whether ``case`` creates a payment whose reference is a sandbox trigger that refuses
    it (D15): such a payment is stored REJECTED, and answered with the trigger's code, which
    may be a 5xx (150001)."""
    if case.path != CREATE or not isinstance(case.body, dict):
        return False
    request = case.body.get(PAYMENT_REQUEST, case.body)  # JSON wraps it; XML's is the root
    if not isinstance(request, dict):
        return False
    reference, recipient = (
        request.get("transaction_reference"),
        request.get("recipient_account_uri"),
    )
    if not isinstance(reference, str):
        return False
    uri = recipient if isinstance(recipient, str) else None
    return outcome_for(reference, uri).status is PaymentStatus.REJECTED


def unjudged(case: schemathesis.Case, response: Any) -> list[Any]:
    """Checks that cannot judge this exchange. A body generated as "negative" that reached
    the server as something the description allows is not negative data: no body, an XML
    document whose root holds only blank text (XML cannot carry an array at the root, nor
    most control characters), or, for a cancel, an XML root holding elements (XML has no
    arrays, booleans or numbers: the fuzzer's ``[false]`` arrives as a child element, an
    object whose members D1 ignores)."""
    sent = getattr(response.request, "body", None)
    if case.body is NOT_SET:
        return []
    if not sent or ("xml" in (case.media_type or "") and _allowed_xml(sent, case.path)):
        return [negative_data_rejection]
    return []


def _allowed_xml(sent: bytes | str, path: str) -> bool:
    try:
        document = XML.decode(sent.encode() if isinstance(sent, str) else sent)
    except DecodeError:
        return False
    if len(document) != 1:
        return False
    (value,) = document.values()
    if path == CANCEL and isinstance(value, dict):
        return True  # D1: an object, its members ignored
    return value is None or (isinstance(value, str) and not value.strip(" \t\r\n"))


def config() -> schemathesis.Config:
    """Both generation modes, only the checks of the module docstring, bounded examples."""
    checks: dict[str, Any] = {"enabled": False} | {name: {"enabled": True} for name in CHECKS}
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "with-security-parameters": False,  # the session signs (or not), not the fuzzer
                # Unknown query parameters and headers are ignored, as HTTP APIs do; OpenAPI
                # cannot say so, so sending them is not "negative" data.
                "allow-extra-parameters": False,
            },
            "checks": checks,
            "request-timeout": TIMEOUT,
        }
    )


@pytest.fixture(scope="module", params=["unsigned", "signed"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    with live_server(tmp_path_factory.mktemp(f"fuzz-{request.param}"), request.param) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(live: Live) -> Any:
    """The description as the live server serves it."""
    return schemathesis.openapi.from_url(
        live.server.url("/openapi.json"), config=config(), timeout=TIMEOUT
    )


STREAM = "/admin/v1/stream"

OPERATIONS = sorted(
    (path, method)
    for path, item in openapi_document(admin_api=True)["paths"].items()
    for method in item
    if path != "/openapi.json"
)
"""Every operation of the description (the live one is held to this list below), except the
description itself, which schemathesis leaves out (tests/e2e/test_openapi_http.py has it)."""


def test_the_live_description_has_these_operations(api_schema: Any) -> None:
    live = {(op.ok().path, op.ok().method) for op in api_schema.get_all_operations()}
    assert live == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation(
    api_schema: Any, live: Live, path: str, method: str, mode: GenerationMode
) -> None:
    """Each operation alone, with data the description allows or not: answered as
    described; a refusal changes nothing."""
    operation = api_schema[path][method.upper()]

    @given(case=operation.as_strategy(generation_mode=mode), accept=st.sampled_from(ACCEPT))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case: schemathesis.Case, accept: str) -> None:
        if path == STREAM and mode is GenerationMode.POSITIVE:
            # Server-Sent Events last as long as asked (max_seconds, or for ever): a short one
            # says as much about the contract and keeps each example from waiting for it
            case.query = {**(case.query or {}), "max_seconds": "0.2"}
        before = live.state()
        response = case.call(session=live.session, headers={"Accept": accept})
        if sandbox_refusal(case):  # D15: refused and stored REJECTED by design, maybe a 5xx
            case.validate_response(response, excluded_checks=[not_a_server_error])
            return
        after = live.state() if response.status_code >= 400 else before
        case.validate_response(response, excluded_checks=unjudged(case, response))
        assert after == before, f"refused with {response.status_code} yet state changed"

    try:
        fuzz()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("the description allows every value this operation can be sent")


def fresh_reference() -> str:
    """A transaction reference never sent before and no sandbox trigger (D15: nothing starts
    FZ), so the payment is created PENDING and cancellable. Not drawn by Hypothesis: a
    scenario it replays must create a new payment, not meet the old one (D7)."""
    return f"FZ{uuid.uuid4().hex[:20].upper()}"


def with_valid_creates(case: schemathesis.Case) -> Any:
    """Positive create cases, or the same with a body that passes D8 (random bodies seldom
    do), so that the links past create are followed too."""
    if case.path != CREATE or case.meta is None:
        return st.just(case)
    if case.meta.generation.mode is not GenerationMode.POSITIVE:
        return st.just(case)
    xml = "xml" in (case.media_type or "")

    def valid() -> schemathesis.Case:
        body = payment_request(fresh_reference())
        return case.operation.Case(
            path_parameters=dict(case.path_parameters or {}),
            headers=dict(case.headers or {}),
            query=dict(case.query or {}),
            body=body if xml else {PAYMENT_REQUEST: body},
            media_type=case.media_type,
        )

    return st.one_of(st.just(case), st.builds(valid))


@pytest.fixture(scope="module")
def lifecycle_schema(live: Live) -> Any:
    """The live description's payment operations (the rest have no links; the stateless
    test covers them), generating valid creates too (see with_valid_creates)."""
    loaded = schemathesis.openapi.from_url(
        live.server.url("/openapi.json"), config=config(), timeout=TIMEOUT
    )
    loaded.hook("flatmap_case")(lambda _context, case: with_valid_creates(case))
    return loaded.include(tag="Payments")


def run_lifecycle(lifecycle_schema: Any, live: Live, steps: int) -> dict[str, int]:
    """Stateful scenarios of up to ``steps`` calls; the calls seen, by operation and status."""
    machine = lifecycle_schema.as_state_machine()
    seen: dict[str, int] = {}

    class Lifecycle(machine):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            live.forget_payments()

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"session": live.session}

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            excluded = unjudged(case, response)
            if sandbox_refusal(case):
                excluded.append(not_a_server_error)
            case.validate_response(response, excluded_checks=excluded, transport_kwargs=kwargs)

        def before_call(self, case: schemathesis.Case) -> None:
            self.before = live.state()
            self.status = None
            if case.path == CANCEL:
                params = case.path_parameters or {}
                self.status = live.status_of(params["partner-id"], params["payment-id"])

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            key = f"{case.method} {case.path} {response.status_code}"
            seen[key] = seen.get(key, 0) + 1
            if response.status_code < 400 or sandbox_refusal(case):
                return
            assert live.state() == self.before, f"refused {key} yet state changed"
            if self.status is not None:
                params = case.path_parameters or {}
                after = live.status_of(params["partner-id"], params["payment-id"])
                assert after == self.status, f"refused {key} yet the payment changed"

    Lifecycle.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=steps,
            phases=[Phase.generate, Phase.shrink],  # no replay of examples kept elsewhere
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
    return seen


def test_stateful_links(lifecycle_schema: Any, live: Live) -> None:
    """Create -> retrieve -> cancel -> retrieve, following the description's links: every
    answer as described, and a refused call changes nothing (the payment's status through
    the Retrieve API, every table through the database)."""
    seen = run_lifecycle(lifecycle_schema, live, STEPS)
    print(sorted(seen.items()))  # what was reached, in the -s output


@pytest.mark.skipif(not LONG, reason="long scenarios: make fuzz (XBORDER_FUZZ_EXAMPLES)")
def test_stateful_links_long(lifecycle_schema: Any, live: Live) -> None:
    """The same with scenarios long enough to cancel, retrieve and cancel again at length."""
    seen = run_lifecycle(lifecycle_schema, live, LONG_STEPS)
    assert any(key.endswith("/cancel 200") for key in seen), seen  # the chain was reached
