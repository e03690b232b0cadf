"""The status-change push sender (D14): a background thread in each server process that
POSTs outbox events to partners' webhooks.

* **The outbox is the queue.** Events are written in the same transaction as the change
  (a rolled-back change leaves none) and stay until an outcome is recorded, so a restart
  loses nothing; a crash during an attempt leaves a claim that expires and is retried.
* **One process per attempt.** Each attempt is claimed with a conditional UPDATE (attempt
  count unchanged, not claimed by a live attempt); the loser skips the event.
* **In order per payment.** Only a payment's oldest waiting event is ever due, so event
  N+1 waits until N is delivered or given up.
* **Retries.** Success is a 2xx answer; otherwise up to ``retries`` more attempts after
  ``backoff * 2**(n-1)`` seconds, then ``FAILED``. Every attempt is recorded.
* Events of partners without a webhook when the sender looks are marked ``SKIPPED``.

Claims and backoff use the wall clock: the controllable clock (D17) may jump.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from xborder import __version__
from xborder.clock import Clock, SystemClock
from xborder.security.webhook_signature import HEADER, sign
from xborder.services.payments import UowFactory
from xborder.services.ports import Attempt, DueEvent
from xborder.services.unit_of_work import WriteRunner, own_transactions
from xborder.services.webhooks import DELIVERED, FAILED, push_payload

log = logging.getLogger("xborder.webhooks")

BATCH = 100
MAX_ROUNDS = 16
CLAIM_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    """Timeout per attempt, retries after the first attempt, and the backoff base (seconds)."""

    timeout: float = 10.0
    retries: int = 3
    backoff: float = 1.0

    def retry_at(self, now: datetime, attempt: int) -> datetime:
        """When attempt ``attempt + 1`` may start after attempt ``attempt`` failed."""
        return now + timedelta(seconds=self.backoff * 2 ** (attempt - 1))


@dataclass(frozen=True, slots=True)
class Request:
    """One POST to make."""

    url: str
    body: bytes
    headers: dict[str, str]


def deliver_due(
    *,
    uow_factory: UowFactory,
    http: httpx.Client,
    policy: SenderPolicy,
    clock: Clock,
    write: WriteRunner | None = None,
) -> int:
    """Make every attempt due now, in rounds (a payment's next event becomes due when the
    previous one is settled); how many attempts were made.

    The bookkeeping writes are units run by ``write`` (in the server: the process's writer,
    issue 12); without it, transactions of their own on ``uow_factory``. The POST itself
    happens outside any transaction.
    """
    run = write or own_transactions(uow_factory)
    made = 0
    for _ in range(MAX_ROUNDS):
        due = run(functools.partial(_due, now=clock.now()))
        attempts = sum(_attempt(event, uow_factory, run, http, policy, clock) for event in due)
        if not attempts:
            break
        made += attempts
    return made


def _due(uow_factory: UowFactory, *, now: datetime) -> list[DueEvent]:
    with uow_factory() as uow:
        uow.webhooks.skip_unregistered()
        due = uow.webhooks.due(now, BATCH)
        uow.commit()
    return due


def _attempt(
    event: DueEvent,
    uow_factory: UowFactory,
    run: WriteRunner,
    http: httpx.Client,
    policy: SenderPolicy,
    clock: Clock,
) -> int:
    if event.attempts > policy.retries:  # spent by attempts whose process died mid-way
        run(functools.partial(_give_up, event_id=event.id))
        return 0
    now = clock.now()
    until = now + timedelta(seconds=policy.timeout) + CLAIM_MARGIN
    if not run(functools.partial(_claim, event=event, now=now, until=until)):
        return 0
    request = _request(event, uow_factory, clock)
    attempt = post(http, request, policy.timeout, clock) if request else _no_target(clock)
    _finish(event, attempt, run, policy, clock)
    return 1


def _give_up(uow_factory: UowFactory, *, event_id: int) -> None:
    with uow_factory() as uow:
        uow.webhooks.give_up(event_id)
        uow.commit()


def _claim(uow_factory: UowFactory, *, event: DueEvent, now: datetime, until: datetime) -> bool:
    with uow_factory() as uow:
        won = uow.webhooks.claim(event, now, until)
        uow.commit()
    return won


def _request(event: DueEvent, uow_factory: UowFactory, clock: Clock) -> Request | None:
    """The POST for ``event``: payload from the payment as it is now (D14)."""
    with uow_factory(readonly=True) as uow:
        target = uow.webhooks.target(event.partner_id)
        payment = uow.payments.get(event.partner_id, event.payment_id)
        row = uow.webhooks.event(event.id)
        history = uow.webhooks.history(event.payment_id, event.id)
    if target is None or payment is None:
        return None
    body = json.dumps(push_payload(row, payment, history), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"xborder/{__version__}"}
    if target.secret:
        headers[HEADER] = sign(target.secret, int(clock.now().timestamp()), body)
    return Request(target.url, body, headers)


def post(http: httpx.Client, request: Request, timeout: float, clock: Clock) -> Attempt:
    """One POST; its status code or a short error (never the answer's body)."""
    started, begun = clock.now(), time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        response = http.post(
            request.url, content=request.body, headers=request.headers, timeout=timeout
        )
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return Attempt(started, status, error, int((time.monotonic() - begun) * 1000))


def _no_target(clock: Clock) -> Attempt:
    return Attempt(clock.now(), None, "no webhook registered", 0)


def _finish(
    event: DueEvent, attempt: Attempt, run: WriteRunner, policy: SenderPolicy, clock: Clock
) -> None:
    number = event.attempts + 1
    if attempt.succeeded:
        outcome, retry_at = DELIVERED, None
    elif number > policy.retries:
        outcome, retry_at = FAILED, None
    else:
        outcome, retry_at = None, policy.retry_at(clock.now(), number)
    run(functools.partial(_record, event=event, attempt=attempt, outcome=outcome, at=retry_at))
    if outcome != DELIVERED:
        log.warning("push of event %s attempt %s: %s", event.id, number, attempt.error)


def _record(
    uow_factory: UowFactory,
    *,
    event: DueEvent,
    attempt: Attempt,
    outcome: str | None,
    at: datetime | None,
) -> None:
    with uow_factory() as uow:
        uow.webhooks.finish(event, attempt, outcome, at)
        uow.commit()


class WebhookSender:
    """A daemon thread that makes due delivery attempts every ``interval`` seconds (D14).
    Started and stopped by the app's lifespan, beside the scheduler."""

    def __init__(
        self,
        *,
        uow_factory: UowFactory,
        policy: SenderPolicy,
        interval: float,
        clock: Clock | None = None,
        write: WriteRunner | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._write = write  # the process's writer (issue 12); None: transactions of its own
        self._policy = policy
        self._interval = interval
        self._clock = clock or SystemClock()
        self._http = httpx.Client(trust_env=False, follow_redirects=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xborder-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._http.close()

    def tick(self) -> int:
        """One pass over what is due; attempts made."""
        return deliver_due(
            uow_factory=self._uow_factory,
            http=self._http,
            policy=self._policy,
            clock=self._clock,
            write=self._write,
        )

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:  # keep the sender alive; the next tick retries
                log.exception("webhook sender tick failed")
