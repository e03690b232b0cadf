"""What the stress test does: its partners, the payments it tracks, and the table of bursts.

A *burst* is a handful of requests about one payment (or one reference), released at once
from as many threads. Each row of :data:`SCENARIOS` sets up what its burst races over
(sequentially, while other lanes race) and returns the burst; adding an operation to the
test is one entry here. Everything random comes from the lane's ``random.Random``, seeded
from ``XBORDER_STRESS_SEED``, so a failing plan can be replayed exactly (the interleaving,
of course, cannot).

Partners: ``SANDBOX`` (unsigned; triggers decide, no ledger, D13), and three mtf partners
(signed): ``FUNDED`` (funded generously up front: its payments start Processing), ``QUEUE``
(never funded: its payments wait in InsufficientBalance until they expire or are
cancelled) and ``FLOW`` (funded in small steps by the bursts themselves).
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tests.e2e.cluster import MAX_QUEUE_SECONDS, SANDBOX_PARTNER, Answer, Driver
from tests.payloads import payment_request

SANDBOX, FUNDED, QUEUE, FLOW = SANDBOX_PARTNER, "MTF_FUNDED", "MTF_QUEUE", "MTF_FLOW"
MTF_PARTNERS = (FUNDED, QUEUE, FLOW)
INITIAL_FUNDING = "1000000.00"
AMOUNTS = ("40.00", "60.00", "100.00", "120.00")
RECIPIENTS = {"tel": "tel:+254108989", "iban": "iban:GB29NWBK60161331108989"}
REJECT_CODE = "130101"
CLOCK_STEP = MAX_QUEUE_SECONDS + 1
"""The only move of the controllable clock: past the queue limit, so every queued payment
expires. Knowing it, a test turns an event's ``occurred_at`` back into wall-clock time."""

Thunk = Callable[[], Answer]


@dataclass
class Tracked:
    """A payment the test created, and every answer about it."""

    label: str
    partner: str
    reference: str
    recipient: str  # a key of RECIPIENTS: "tel" is cancellable in any pending stage (D3)
    amount: str
    answers: list[Answer] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return self.partner != SANDBOX

    @property
    def payment_id(self) -> str | None:
        for answer in self.answers:
            if answer.op == "create" and answer.status == 200:
                return str(answer.json()["payment"]["id"])
        return None

    def body(self, amount: str | None = None) -> dict[str, object]:
        body = payment_request(self.reference, recipient_uri=RECIPIENTS[self.recipient])
        body["payment_amount"] = {"amount": amount or self.amount, "currency": "USD"}
        return body


@dataclass
class Group:
    """Concurrent creates of one reference: ``answers[label]`` per payload."""

    partner: str
    reference: str
    answers: dict[str, list[Answer]] = field(default_factory=dict)


@dataclass
class World:
    """The driver and everything the lanes record, shared by all lanes."""

    driver: Driver
    tracked: list[Tracked] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    fundings: list[tuple[str, int, Answer]] = field(default_factory=list)
    global_ops: list[Answer] = field(default_factory=list)  # clock moves, scheduler runs
    unknown: list[Answer] = field(default_factory=list)  # cancels of payments that never existed
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _serial: int = 0

    def reference(self, prefix: str) -> str:
        with self._lock:
            self._serial += 1
            return f"ST{prefix}{self._serial:05d}"

    def payment(self, partner: str, recipient: str, rng: random.Random) -> Tracked | None:
        """Create a payment to race over; None when its create failed (recorded, checked)."""
        tracked = Tracked("", partner, self.reference("P"), recipient, rng.choice(AMOUNTS))
        tracked.label = f"{partner}/{tracked.reference}/{recipient}"
        self.tracked.append(tracked)
        tracked.answers.append(self.driver.create(partner, tracked.body(), signed=tracked.signed))
        return tracked if tracked.payment_id else None

    def fund(self, partner: str, amount: str) -> Answer:
        answer = self.driver.admin(
            "fund", partner, f"/partners/{partner}/accounts/USD/fund", {"amount": amount}
        )
        self.fundings.append((partner, int(Decimal(amount) * 100), answer))
        return answer


def on(tracked: Tracked, send: Thunk) -> Thunk:
    """A thunk whose answer is recorded on ``tracked``."""

    def run() -> Answer:
        answer = send()
        tracked.answers.append(answer)
        return answer

    return run


def cancels(world: World, t: Tracked, rng: random.Random, count: int) -> list[Thunk]:
    """Cancels by id or reference (D2), POST or GET (D1)."""
    thunks: list[Thunk] = []
    for _ in range(count):
        key = rng.choice([t.payment_id or t.reference, t.reference])
        method = rng.choice(["POST", "GET"])
        cancel = functools.partial(
            world.driver.cancel, t.partner, key, signed=t.signed, method=method
        )
        thunks.append(on(t, cancel))
    return thunks


def retrieve(world: World, t: Tracked) -> Thunk:
    payment_id = t.payment_id or ""
    return on(t, lambda: world.driver.retrieve(t.partner, payment_id, signed=t.signed))


def operator(world: World, t: Tracked, action: str, code: str | None = None) -> Thunk:
    suffix = f"/partners/{t.partner}/payments/{t.payment_id}/{action}"
    document = {"code": code} if code else None
    return on(t, lambda: world.driver.admin(action, t.payment_id or "", suffix, document))


def global_op(world: World, op: str, suffix: str, document: dict[str, object] | None) -> Thunk:
    def run() -> Answer:
        answer = world.driver.admin(op, "*", suffix, document)
        world.global_ops.append(answer)
        return answer

    return run


# --- the bursts -----------------------------------------------------------------------------


def cancel_vs_cancel(world: World, rng: random.Random) -> list[Thunk]:
    """Sandbox mobile money in Processing (cancellable): exactly one cancel wins (D6)."""
    t = world.payment(SANDBOX, "tel", rng)
    if t is None:
        return []
    burst = [*cancels(world, t, rng, 7), retrieve(world, t)]
    if rng.random() < 0.3:
        missing = f"rem_{t.reference}unknown"

        def unknown() -> Answer:
            answer = world.driver.cancel(SANDBOX, missing, signed=False)
            world.unknown.append(answer)
            return answer

        burst.append(unknown)
    return burst


def cancel_vs_settle(world: World, rng: random.Random) -> list[Thunk]:
    """A funded mtf payment in Processing: cancels against the operator's settle and
    advance (and a return, refused until it is SUCCESS)."""
    t = world.payment(FUNDED, "tel", rng)
    if t is None:
        return []
    return [
        *cancels(world, t, rng, 3),
        operator(world, t, "settle"),
        operator(world, t, "settle"),
        operator(world, t, "advance"),
        operator(world, t, "return", "130190"),
        retrieve(world, t),
    ]


def cancel_vs_expiry(world: World, rng: random.Random) -> list[Thunk]:
    """A queued payment: cancels against a clock move past the queue limit, which expires
    every queued payment (REJECTED 130196) through the scheduler steps."""
    t = world.payment(QUEUE, rng.choice(["tel", "iban"]), rng)
    if t is None:
        return []
    seconds: dict[str, object] = {"seconds": CLOCK_STEP}
    return [
        *cancels(world, t, rng, 4),
        global_op(world, "clock", "/clock/advance", seconds),
        global_op(world, "scheduler", "/scheduler/run", None),
        retrieve(world, t),
    ]


def funding_vs_cancel(world: World, rng: random.Random) -> list[Thunk]:
    """Queued payments of FLOW: funding (which releases them in creation order) against
    their cancels. A bank payment can be cancelled only while still queued (D3)."""
    queued = [world.payment(FLOW, rng.choice(["iban", "tel"]), rng) for _ in range(3)]
    tracked = [t for t in queued if t is not None]
    amounts = [Decimal(t.amount) for t in tracked]
    burst: list[Thunk] = []
    for _ in range(rng.choice([1, 2])):
        amount = sum(rng.sample(amounts, rng.randint(1, len(amounts)))) if amounts else 0
        burst.append(functools.partial(world.fund, FLOW, f"{amount or 10:.2f}"))
    for t in tracked:
        burst += cancels(world, t, rng, 2)
    return burst + [retrieve(world, t) for t in tracked[:1]]


def cancel_by_stage(world: World, rng: random.Random) -> list[Thunk]:
    """Cancels of a payment nothing else touches, in Processing or (advanced first)
    EligibleForSettlement: mobile money must be cancelled (by exactly one), a bank payment
    never (D3)."""
    t = world.payment(FUNDED, rng.choice(["tel", "iban"]), rng)
    if t is None:
        return []
    if rng.random() < 0.5:
        operator(world, t, "advance")()
    return [*cancels(world, t, rng, 4), retrieve(world, t)]


def operator_vs_cancel(world: World, rng: random.Random) -> list[Thunk]:
    """Operator advance and reject against cancels, on a bank or mobile-money payment."""
    t = world.payment(FUNDED, rng.choice(["tel", "iban"]), rng)
    if t is None:
        return []
    return [
        operator(world, t, "advance"),
        operator(world, t, "advance"),
        operator(world, t, "reject", REJECT_CODE),
        *cancels(world, t, rng, 3),
        retrieve(world, t),
    ]


def duplicate_creates(world: World, rng: random.Random) -> list[Thunk]:
    """One reference created many times at once, in JSON and XML with one payload and with
    another: one payload wins, its creates all answer the one payment (D7's safe retry),
    the other's get 409 082000 ``transaction_reference``."""
    partner = rng.choice([SANDBOX, FUNDED])
    same = Tracked("", partner, world.reference("D"), "tel", rng.choice(AMOUNTS))
    same.label = f"{partner}/{same.reference}/duplicate"
    other_amount = next(a for a in AMOUNTS if a != same.amount)
    group = Group(partner, same.reference, {"same": [], "other": []})
    world.groups.append(group)

    def create(label: str, amount: str, fmt: str) -> Thunk:
        def run() -> Answer:
            answer = world.driver.create(partner, same.body(amount), signed=same.signed, fmt=fmt)
            group.answers[label].append(answer)
            return answer

        return run

    burst = [create("same", same.amount, rng.choice(["json", "xml"])) for _ in range(6)]
    return burst + [create("other", other_amount, rng.choice(["json", "xml"])) for _ in range(2)]


@dataclass(frozen=True)
class Scenario:
    """One row of the plan: a name, how often it is drawn, and its burst builder."""

    name: str
    weight: int
    build: Callable[[World, random.Random], list[Thunk]]


SCENARIOS = (
    Scenario("cancel-vs-cancel", 3, cancel_vs_cancel),
    Scenario("cancel-vs-settle", 2, cancel_vs_settle),
    Scenario("cancel-vs-expiry", 1, cancel_vs_expiry),
    Scenario("funding-vs-cancel", 2, funding_vs_cancel),
    Scenario("operator-vs-cancel", 1, operator_vs_cancel),
    Scenario("cancel-by-stage", 1, cancel_by_stage),
    Scenario("duplicate-creates", 2, duplicate_creates),
)
