"""Retries against a server that loses, refuses, delays or fails answers: a create never makes a
second payment; a cancel whose answer was lost is confirmed by a Retrieve, not repeated
blindly; pauses grow with jitter and attempts are bounded."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette

from tests.client.conftest import (
    BASE_URL,
    AppTransport,
    Keys,
    auth_for,
    no_async_sleep,
    no_sleep,
)
from tests.payloads import PARTNER, payment_request
from xborder.client import (
    DEFAULT_TIMEOUT,
    AsyncXborderClient,
    Cancellation,
    DeclinedError,
    RetryPolicy,
    ServerError,
    TransportError,
    XborderClient,
)
from xborder.security.oauth1 import parse_authorization_header

LOST, REFUSED, HELD, UNAVAILABLE = "lost", "refused", "held", "unavailable"


def is_create(request: httpx.Request) -> bool:
    return request.url.path.endswith("/payment")


def is_cancel(request: httpx.Request) -> bool:
    return request.url.path.endswith("/cancel")


class Plan:
    """What happens to the n-th request that ``matches`` (1-based):

    - ``lost``: the app handles it, then the answer is lost (a read timeout);
    - ``refused``: it never reaches the app (a connection error);
    - ``held``: it is held back (a read timeout) and reaches the app just before the next
      matching request, as a request stuck in the network would;
    - ``unavailable``: a 503 with an ``Errors`` body, without reaching the app.
    """

    def __init__(self, matches: Callable[[httpx.Request], bool], **actions: str) -> None:
        self.matches = matches
        self.actions = {int(n.removeprefix("n")): action for n, action in actions.items()}
        self.sent: list[httpx.Request] = []  # every request the client sent, in order
        self.matched = 0
        self.held: list[httpx.Request] = []

    def action(self, request: httpx.Request) -> str | None:
        self.sent.append(request)
        if not self.matches(request):
            return None
        self.matched += 1
        return self.actions.get(self.matched)

    def of(self, matches: Callable[[httpx.Request], bool]) -> list[httpx.Request]:
        return [request for request in self.sent if matches(request)]


UNAVAILABLE_BODY = {"Errors": {"Error": {"ReasonCode": "SYSTEM_ERROR", "Source": ""}}}


class Flaky(httpx.BaseTransport):
    """A sync transport that follows a :class:`Plan` in front of the app."""

    def __init__(self, inner: httpx.BaseTransport, plan: Plan) -> None:
        self.inner, self.plan = inner, plan

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        action = self.plan.action(request)
        if self.plan.matches(request):
            while self.plan.held:
                self.inner.handle_request(self.plan.held.pop(0))  # arrives late
        if action == REFUSED:
            raise httpx.ConnectError("connection refused", request=request)
        if action == UNAVAILABLE:
            return httpx.Response(503, json=UNAVAILABLE_BODY, request=request)
        if action == HELD:
            self.plan.held.append(request)
            raise httpx.ReadTimeout("no answer in time", request=request)
        response = self.inner.handle_request(request)
        if action == LOST:
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


class AsyncFlaky(httpx.AsyncBaseTransport):
    """The async twin of :class:`Flaky` (``lost`` and ``refused`` only)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, plan: Plan) -> None:
        self.inner, self.plan = inner, plan

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        action = self.plan.action(request)
        if action == REFUSED:
            raise httpx.ConnectError("connection refused", request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if action == LOST:
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def flaky_client(
    transport: AppTransport, plan: Plan, attempts: int = 3, **options: object
) -> XborderClient:
    return XborderClient(
        BASE_URL,
        PARTNER,
        transport=Flaky(transport, plan),
        retry=RetryPolicy(attempts=attempts),
        sleep=no_sleep,
        **options,  # type: ignore[arg-type]
    )


def payments_with_reference(engine: Engine, reference: str) -> int:
    with engine.connect() as connection:
        query = sa.text("SELECT count(*) FROM payments WHERE transaction_reference = :r")
        return int(connection.execute(query, {"r": reference}).scalar_one())


def created_pending(transport: AppTransport, reference: str) -> str:
    plain = XborderClient(BASE_URL, PARTNER, transport=transport, sleep=no_sleep)
    return plain.create_payment(payment_request(reference)).id


# --- create -------------------------------------------------------------------------------------


def test_a_lost_create_answer_is_replayed_not_duplicated(
    transport: AppTransport, engine: Engine, keys: Keys
) -> None:
    plan = Plan(is_create, n1=LOST)
    client = flaky_client(transport, plan, auth=auth_for(keys))
    payment = client.create_payment(payment_request("RETRY-CREATE-1"))
    creates = plan.of(is_create)
    assert len(creates) == 2
    assert creates[0].content == creates[1].content  # byte-identical payload, same reference
    nonces = {parse_authorization_header(r.headers["Authorization"]).nonce for r in creates}
    assert len(nonces) == 2  # signed afresh
    assert payments_with_reference(engine, "RETRY-CREATE-1") == 1
    assert client.find_payment("RETRY-CREATE-1").id == payment.id


def test_creates_that_never_answer_leave_one_payment(
    transport: AppTransport, engine: Engine
) -> None:
    plan = Plan(is_create, n1=LOST, n2=LOST, n3=LOST)
    with pytest.raises(TransportError):
        flaky_client(transport, plan).create_payment(payment_request("RETRY-CREATE-2"))
    assert len(plan.of(is_create)) == 3
    assert payments_with_reference(engine, "RETRY-CREATE-2") == 1


def test_a_refused_connection_is_retried(transport: AppTransport, engine: Engine) -> None:
    plan = Plan(is_create, n1=REFUSED, n2=UNAVAILABLE)
    payment = flaky_client(transport, plan).create_payment(payment_request("RETRY-CREATE-3"))
    assert payment.status == "PENDING" and len(plan.of(is_create)) == 3
    assert payments_with_reference(engine, "RETRY-CREATE-3") == 1


# --- cancel -------------------------------------------------------------------------------------


def test_a_lost_cancel_answer_is_confirmed_by_retrieve(transport: AppTransport) -> None:
    payment_id = created_pending(transport, "RETRY-CANCEL-1")
    plan = Plan(is_cancel, n1=LOST)
    cancellation = flaky_client(transport, plan).cancel_payment(payment_id)
    assert cancellation.confirmed and cancellation.attempts == 1
    assert cancellation.payment is not None and cancellation.payment.status == "CANCELLED"
    assert len(plan.of(is_cancel)) == 1  # not repeated
    assert [r.method for r in plan.sent] == ["POST", "GET"]


def test_a_lost_cancel_by_reference_is_confirmed_by_id_then_reference(
    transport: AppTransport,
) -> None:
    created_pending(transport, "RETRY-CANCEL-2")
    plan = Plan(is_cancel, n1=LOST)
    cancellation = flaky_client(transport, plan).cancel_payment("RETRY-CANCEL-2")
    assert cancellation.confirmed and len(plan.of(is_cancel)) == 1
    probes = [r.url.raw_path.decode() for r in plan.sent if r.method == "GET"]
    assert probes[0].endswith("/RETRY-CANCEL-2") and probes[1].endswith("?ref=RETRY-CANCEL-2")


def test_a_cancel_that_never_arrived_is_sent_again(transport: AppTransport) -> None:
    payment_id = created_pending(transport, "RETRY-CANCEL-3")
    plan = Plan(is_cancel, n1=REFUSED)
    cancellation = flaky_client(transport, plan).cancel_payment(payment_id)
    assert cancellation == Cancellation(payment_id, "SUCCESS", attempts=2)
    assert [r.method for r in plan.sent] == ["POST", "GET", "POST"]  # looked before resending


def test_a_late_first_cancel_makes_the_second_130111_and_is_confirmed(
    transport: AppTransport,
) -> None:
    payment_id = created_pending(transport, "RETRY-CANCEL-4")
    plan = Plan(is_cancel, n1=HELD)
    cancellation = flaky_client(transport, plan).cancel_payment(payment_id)
    assert cancellation.confirmed and cancellation.attempts == 2
    assert cancellation.payment is not None and cancellation.payment.status == "CANCELLED"


def test_a_503_on_cancel_is_looked_up_then_resent(transport: AppTransport) -> None:
    payment_id = created_pending(transport, "RETRY-CANCEL-5")
    plan = Plan(is_cancel, n1=UNAVAILABLE)
    cancellation = flaky_client(transport, plan).cancel_payment(payment_id)
    assert not cancellation.confirmed and cancellation.attempts == 2


def test_a_cancel_that_never_lands_fails_after_the_last_attempt(transport: AppTransport) -> None:
    payment_id = created_pending(transport, "RETRY-CANCEL-6")
    plan = Plan(is_cancel, n1=REFUSED, n2=REFUSED, n3=REFUSED)
    with pytest.raises(TransportError):
        flaky_client(transport, plan).cancel_payment(payment_id)
    assert len(plan.of(is_cancel)) == 3
    assert XborderClient(BASE_URL, PARTNER, transport=transport).get_payment(payment_id).status == (
        "PENDING"
    )


def test_a_definite_refusal_is_not_retried(transport: AppTransport) -> None:
    XborderClient(BASE_URL, PARTNER, transport=transport).create_payment(
        payment_request("09RETRY-DONE")
    )
    plan = Plan(is_cancel)
    with pytest.raises(DeclinedError):
        flaky_client(transport, plan).cancel_payment("09RETRY-DONE")
    assert [r.method for r in plan.sent] == ["POST"]


# --- reads, pauses, timeout ---------------------------------------------------------------------


def test_reads_are_retried(transport: AppTransport) -> None:
    payment_id = created_pending(transport, "RETRY-READ-1")
    plan = Plan(lambda r: r.method == "GET", n1=UNAVAILABLE, n2=LOST)
    assert flaky_client(transport, plan).get_payment(payment_id).id == payment_id
    assert len(plan.sent) == 3


def test_pauses_grow_with_jitter_and_attempts_are_bounded() -> None:
    pauses: list[float] = []
    sent: list[httpx.Request] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503, json=UNAVAILABLE_BODY)

    client = XborderClient(
        BASE_URL,
        PARTNER,
        transport=httpx.MockTransport(unavailable),
        retry=RetryPolicy(attempts=5, backoff=0.5, max_backoff=2.0),
        sleep=pauses.append,
    )
    with pytest.raises(ServerError):
        client.find_payment("X")
    assert len(sent) == 5
    for pause, ceiling in zip(pauses, (0.5, 1.0, 2.0, 2.0), strict=True):
        assert ceiling / 2 <= pause <= ceiling
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


def test_every_request_has_the_40_second_timeout() -> None:
    seen: list[dict[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"payment": {"id": "rem_x", "status": "PENDING"}})

    XborderClient(BASE_URL, PARTNER, transport=httpx.MockTransport(answer)).get_payment("rem_x")
    assert DEFAULT_TIMEOUT == 40.0
    assert seen == [{"connect": 40.0, "read": 40.0, "write": 40.0, "pool": 40.0}]


# --- the async client ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_create_and_cancel_with_lost_answers(app: Starlette, engine: Engine) -> None:
    plan = Plan(lambda r: r.method == "POST", n1=LOST, n3=LOST)
    client = AsyncXborderClient(
        BASE_URL,
        PARTNER,
        transport=AsyncFlaky(httpx.ASGITransport(app=app), plan),
        sleep=no_async_sleep,
    )
    async with client:
        payment = await client.create_payment(payment_request("RETRY-ASYNC-1"))
        cancellation = await client.cancel_payment(payment.id)
    assert payments_with_reference(engine, "RETRY-ASYNC-1") == 1
    assert cancellation.confirmed and len(plan.of(is_cancel)) == 1


def test_a_130111_after_a_lost_answer_stands_when_the_payment_is_not_cancelled(
    transport: AppTransport,
) -> None:
    XborderClient(BASE_URL, PARTNER, transport=transport).create_payment(
        payment_request("09RETRY-SETTLED")
    )
    plan = Plan(is_cancel, n1=REFUSED)
    with pytest.raises(DeclinedError) as declined:
        flaky_client(transport, plan).cancel_payment("09RETRY-SETTLED")
    assert declined.value.error_detail_code == "130111"
    assert [r.method for r in plan.sent] == ["POST", "GET", "GET", "POST", "GET", "GET"]
