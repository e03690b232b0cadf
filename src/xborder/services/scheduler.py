"""The scheduler: runs the time-driven steps of the lifecycle (D16, D17).

Single-step across processes, in two layers:

1. **A lease** (one row in ``scheduler_leases``): each tick, a process takes or renews the
   lease with one conditional upsert (``holder = me OR expires_at < now``, wall-clock time);
   only the holder scans. A crashed holder's lease expires after ``ttl`` and another process
   takes over. This keeps N processes from doing N scans.
2. **Per-step guards**, which make a step happen once even if two scans overlap (a lease
   lost during a slow scan, an operator's manual run): every step re-reads the payment, asks
   the domain whether the step is still due, and saves with the version-guarded UPDATE; the
   loser gets ``ConflictError`` and skips. Its ledger entry is in the same transaction, and
   ``ledger_entries`` is unique on ``(payment_id, kind)`` besides.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import socket
import threading
from datetime import datetime, timedelta

from xborder.clock import Clock, SystemClock
from xborder.domain.channels import Channel
from xborder.domain.lifecycle import LifecycleRules, Step, due_at, due_step
from xborder.domain.states import PendingStage
from xborder.services import ledger
from xborder.services.errors import ConflictError
from xborder.services.payments import PaymentRules, UowFactory
from xborder.services.ports import DueCandidate
from xborder.services.unit_of_work import WriteRunner, own_transactions

log = logging.getLogger("xborder.scheduler")

LEASE = "lifecycle"
BATCH = 200
MAX_ROUNDS = 16


def run_due_steps(
    *,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
    write: WriteRunner | None = None,
) -> int:
    """Run every step due now, in rounds, until none is left (a clock moved forward by hours
    takes a payment through several stages, each dated when it fell due); how many ran.

    Each step is a unit run by ``write`` (in the server: the process's writer, issue 12);
    without it, a transaction of its own on ``uow_factory``. Reads use ``uow_factory``.
    """
    write = write or own_transactions(uow_factory)
    done = 0
    for _ in range(MAX_ROUNDS):
        steps = _round(uow_factory, write, clock, rules)
        if not steps:
            break
        done += steps
    return done


def _round(uow_factory: UowFactory, write: WriteRunner, clock: Clock, rules: PaymentRules) -> int:
    """One pass: expiries and stage advances, then releases."""
    now = clock.now()
    with uow_factory(readonly=True) as uow:
        candidates = uow.schedule.candidates(now, cutoffs(rules.lifecycle, now), BATCH)
        queues = uow.schedule.accounts_with_queue()
    done = sum(write(functools.partial(_run_step, c, clock=clock, rules=rules)) for c in candidates)
    return done + sum(
        write(functools.partial(_drain, p, c, clock=clock, rules=rules)) for p, c in queues
    )


def cutoffs(rules: LifecycleRules, now: datetime) -> dict[tuple[str, str], datetime]:
    """For each (stage, channel): the latest stage entry time whose delay has passed."""
    result: dict[tuple[str, str], datetime] = {}
    for channel in Channel:
        delays = rules.delays_for(channel)
        result[(PendingStage.PROCESSING.value, channel.value)] = now - delays.processing
        result[(PendingStage.ELIGIBLE_FOR_SETTLEMENT.value, channel.value)] = (
            now - delays.settlement
        )
    return result


def _run_step(
    candidate: DueCandidate, uow_factory: UowFactory, *, clock: Clock, rules: PaymentRules
) -> int:
    with uow_factory() as uow:
        payment = uow.payments.get(candidate.partner_id, candidate.payment_id)
        step = due_step(payment, clock.now(), rules.lifecycle) if payment else None
        if payment is None or step is None:
            return 0  # done meanwhile by someone else, or not due after all
        now = due_at(payment, step, rules.lifecycle)
        account = ledger.lock_account(uow, payment, now)
        released: list[str] = []
        try:
            if step is Step.EXPIRE:
                ledger.expire(uow, account, payment, now)
                released = ledger.drain(uow, account, now, rules.lifecycle)
            elif step is Step.TO_ELIGIBLE:
                deadline = payment.pending_max_completion_date or now
                payment.move_to_stage(PendingStage.ELIGIBLE_FOR_SETTLEMENT, now, deadline)
                uow.payments.save(payment)
            else:
                payment.settle(now)
                uow.payments.save(payment)
                ledger.settle_held(uow, account, payment, now)
        except ConflictError:
            return 0  # another process made this step first
        uow.commit()
    return 1 + len(released)


def _drain(
    partner_id: str, currency: str, uow_factory: UowFactory, *, clock: Clock, rules: PaymentRules
) -> int:
    with uow_factory() as uow:
        now = clock.now()
        account = uow.accounts.lock(partner_id, currency, now)
        try:
            released = ledger.drain(uow, account, now, rules.lifecycle)
        except ConflictError:
            return 0
        uow.commit()
    return len(released)


def take_lease(
    uow_factory: UowFactory, holder: str, ttl: timedelta, write: WriteRunner | None = None
) -> bool:
    """Take or renew the scheduler lease (wall-clock time: the simulated clock may jump)."""
    run = write or own_transactions(uow_factory)
    return run(functools.partial(_lease, holder=holder, ttl=ttl))


def _lease(uow_factory: UowFactory, *, holder: str, ttl: timedelta) -> bool:
    with uow_factory() as uow:
        won = uow.schedule.acquire_lease(LEASE, holder, SystemClock().now(), ttl)
        uow.commit()
    return won


class SchedulerThread:
    """A daemon thread that, every ``interval`` seconds, runs the due steps if it holds the
    lease. Started and stopped by the app's lifespan."""

    def __init__(
        self,
        *,
        uow_factory: UowFactory,
        clock: Clock,
        rules: PaymentRules,
        interval: float,
        write: WriteRunner | None = None,
    ) -> None:
        self._args = (uow_factory, clock, rules)
        self._write = write  # the process's writer (issue 12); None: transactions of its own
        self._interval = interval
        self._ttl = timedelta(seconds=max(5.0, 3 * interval))
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="xborder-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def tick(self) -> int:
        """One round: take the lease, then run what is due; steps run (0 when not leader)."""
        uow_factory, clock, rules = self._args
        if not take_lease(uow_factory, self.holder, self._ttl, self._write):
            return 0
        return run_due_steps(uow_factory=uow_factory, clock=clock, rules=rules, write=self._write)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.tick()
            except Exception:  # keep the scheduler alive; the next tick retries
                log.exception("scheduler tick failed")
