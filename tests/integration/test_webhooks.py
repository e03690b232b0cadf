"""Status-change push (D14) against a real HTTP receiver, on SQLite and PostgreSQL: the
sender is driven tick by tick (``deliver_due``), as the server's thread drives it."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.integration.test_lifecycle import World
from tests.lifecycle_support import bind
from tests.webhook_receiver import Receiver, receiving
from xborder.clock import SystemClock
from xborder.domain.states import PaymentStatus
from xborder.security.webhook_signature import HEADER, verify
from xborder.services import operator, webhooks
from xborder.services.webhook_sender import SenderPolicy, deliver_due
from xborder.storage.tables import outbox

MTF = "HOOKED_MTF"
FAST = SenderPolicy(timeout=2.0, retries=3, backoff=0.01)


@pytest.fixture
def world(db: Engine) -> World:
    bind(db, MTF, "mtf")
    return World(db)


def hook(world: World, receiver: Receiver, secret: str | None = None) -> None:
    webhooks.set_webhook(MTF, receiver.url, secret, uow_factory=world.uow)


def send(world: World, policy: SenderPolicy = FAST, until: float = 5.0) -> int:
    """Tick the sender until nothing is waiting (retries included) or ``until`` seconds."""
    made, deadline = 0, time.monotonic() + until
    with httpx.Client(trust_env=False) as http:
        while time.monotonic() < deadline:
            made += deliver_due(
                uow_factory=world.uow, http=http, policy=policy, clock=SystemClock()
            )
            if not waiting(world.engine):
                break
            time.sleep(0.01)
    return made


def waiting(engine: Engine) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).where(outbox.c.outcome.is_(None))
        return int(connection.execute(query).scalar_one())


def outbox_rows(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(outbox.select().order_by(outbox.c.id)))


def make_changes(world: World) -> tuple[str, str]:
    """Two payments queued for funds, released, then one settled and one rejected: six
    status changes (D14)."""
    first = world.create(MTF, "HOOK-1").id
    second = world.create(MTF, "HOOK-2").id
    world.fund(MTF, "500.00")
    operator.advance_payment(MTF, first, **world.kw())
    operator.settle_payment(MTF, first, **world.kw())
    operator.reject_payment(MTF, second, "130101", **world.kw())
    return first, second


def test_each_event_is_delivered_once_in_order_per_payment(world: World) -> None:
    with receiving() as receiver:
        hook(world, receiver)
        first, second = make_changes(world)
        send(world)
        send(world)  # nothing left: nothing is sent twice
    rows = outbox_rows(world.engine)
    documents = receiver.documents()
    assert sorted(d["eventRef"] for d in documents) == sorted(r.event_ref for r in rows)
    for payment_id in (first, second):
        expected = [r.event_ref for r in rows if r.payment_id == payment_id]
        sent = [d["eventRef"] for d in documents if d["eventRef"] in expected]
        assert sent == expected
    assert {r.outcome for r in rows} == {"DELIVERED"} and all(r.delivered_at for r in rows)
    last = documents[[d["eventRef"] for d in documents].index(expected[-1])]
    assert last["payment"]["transactionStatus"]["status"] == "REJECTED"
    assert [h["notificationId"] for h in last["transactionHistories"]] == expected[::-1]


def test_the_bookkeeping_is_units_of_the_write_runner_it_is_given(world: World) -> None:
    """Issue 12: in the server the sender's writes go through the process's writer: the
    due scan, each claim and each outcome are units of it."""
    units: list[str] = []

    def write(unit: Any) -> Any:
        units.append(unit.func.__name__)
        return unit(world.uow)

    with receiving() as receiver, httpx.Client(trust_env=False) as http:
        hook(world, receiver)
        make_changes(world)
        made = deliver_due(
            uow_factory=world.uow, http=http, policy=FAST, clock=SystemClock(), write=write
        )
    assert made == len(receiver.documents()) > 0
    assert units.count("_claim") == units.count("_record") == made
    assert units[0] == "_due"


def test_a_500_is_retried_with_backoff_until_a_2xx(world: World) -> None:
    with receiving((500, 0), (503, 0), (200, 0)) as receiver:
        hook(world, receiver)
        payment = world.create(MTF, "HOOK-RETRY").id
        world.fund(MTF, "100.00")
        send(world)
    records = webhooks.list_deliveries(MTF, payment, uow_factory=world.uow)
    assert [(r.attempt, r.status_code) for r in records] == [(1, 500), (2, 503), (3, 200)]
    assert records[-1].outcome == "DELIVERED" and records[0].error == "HTTP 500"
    assert len({d["eventRef"] for d in receiver.documents()}) == 1


def test_a_timeout_is_retried(world: World) -> None:
    with receiving((200, 1.5)) as receiver:
        hook(world, receiver)
        payment = world.create(MTF, "HOOK-SLOW").id
        world.fund(MTF, "100.00")
        send(world, SenderPolicy(timeout=0.3, backoff=0.01))
    records = webhooks.list_deliveries(MTF, payment, uow_factory=world.uow)
    assert [(r.status_code, r.error) for r in records] == [(None, "ReadTimeout"), (200, None)]
    assert records[0].duration_ms >= 250


def test_after_three_retries_the_event_fails_and_the_next_one_goes(world: World) -> None:
    with receiving(*[(500, 0)] * 4) as receiver:
        hook(world, receiver)
        payment = world.create(MTF, "HOOK-FAIL").id
        world.fund(MTF, "100.00")  # event 1: to Processing (four 500s)
        operator.settle_payment(MTF, payment, **world.kw())  # event 2
        send(world)
    outcomes = [(r.status, r.outcome, r.attempts) for r in outbox_rows(world.engine)]
    assert outcomes == [("PENDING", "FAILED", 4), ("SUCCESS", "DELIVERED", 1)]
    assert len(receiver.received) == 5


def test_a_rolled_back_change_is_never_sent(world: World) -> None:
    with receiving() as receiver:
        hook(world, receiver)
        payment = world.create(MTF, "HOOK-ROLLBACK")
        with pytest.raises(RuntimeError), world.uow() as uow:
            stored = uow.payments.get(MTF, payment.id)
            assert stored is not None
            stored.settle(world.clock.now())
            uow.payments.save(stored)  # writes the outbox row in this transaction
            raise RuntimeError("the change fails after its event was written")
        assert send(world) == 0
    assert outbox_rows(world.engine) == [] and receiver.received == []
    assert world.get(MTF, payment.id).status is PaymentStatus.PENDING


def test_the_signature_header_verifies_with_the_partner_secret(world: World) -> None:
    with receiving() as receiver:
        hook(world, receiver, secret="topsecret")
        world.create(MTF, "HOOK-SIGNED")
        world.fund(MTF, "100.00")
        send(world)
    (request,) = receiver.received
    header = request.headers[HEADER]
    assert verify("topsecret", header, request.body, int(time.time()))
    assert not verify("wrong", header, request.body, int(time.time()))
    assert not verify("topsecret", header, request.body + b" ", int(time.time()))


def test_events_of_partners_without_a_webhook_are_skipped(world: World) -> None:
    with receiving() as receiver:
        world.create(MTF, "HOOK-NONE")
        world.fund(MTF, "100.00")
        send(world)
        hook(world, receiver)  # registering later does not replay what was skipped
        send(world)
    assert [r.outcome for r in outbox_rows(world.engine)] == ["SKIPPED"]
    assert receiver.received == []


def test_concurrent_senders_make_each_attempt_once(world: World) -> None:
    with receiving() as receiver:
        hook(world, receiver)
        for n in range(6):
            world.create(MTF, f"HOOK-RACE-{n}")
        world.fund(MTF, "600.00")
        threads = [threading.Thread(target=send, args=(world,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    refs = [d["eventRef"] for d in receiver.documents()]
    assert len(refs) == len(set(refs)) == 6
