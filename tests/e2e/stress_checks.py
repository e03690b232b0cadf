"""The stress test's verdict: every answer it got, held against the stored database.

Each function returns problems as lines of text (empty when all is well), so that one run
reports everything it found together with its seed.

* Every answer has a documented shape: no transport error, no 5xx, no "database is locked";
  a refused cancel is exactly D6's 402 ``DECLINE`` 130111 ``CancelPayment``; an unknown
  payment is D6's 404 110507; an operator refusal is 409 ``DECLINE`` 130111 with the action
  as Source (D17).
* Every success matches the stored state: a ``SUCCESS`` cancel means the payment is stored
  CANCELLED (and only a client cancel ever cancels it); a settle means SUCCESS (or RETURNED
  after a return); a reject means REJECTED with its code; at most one client action ever
  finished a payment. Every state an answer showed is one the payment went through (the
  states of its outbox events, and one initial state).
* Every cancel was decided on the state it met (D3): a successful cancel left a cancellable
  state; a refused one was answered after the payment had entered a state D3 refuses. That
  needs, for each outbox event, a time its commit cannot precede (:class:`Clocks`).
* Duplicate creates made one payment; every create with the winning payload answered it,
  every other one got 409 082000 ``transaction_reference`` (D7).
* Funding happened exactly once per acknowledged call: the FUND entries of each partner sum
  to the amounts the admin API acknowledged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tests.e2e.cluster import Answer
from tests.e2e.invariants import Snapshot
from tests.e2e.stress_plan import REJECT_CODE, Group, Tracked, World

CANCEL_SUCCESS = {"cancelpayment": {"status": "SUCCESS"}}
ADMIN_ACTIONS = ("settle", "advance", "reject", "return")
LATER = {"SUCCESS": {"SUCCESS", "RETURNED"}}
"""Statuses a payment may be stored in after a client action finished it (a return may follow)."""
State = tuple[str, str | None]


@dataclass(frozen=True)
class Clocks:
    """Lower bounds, in wall-clock seconds, of the moments outbox events were committed.

    An event's ``occurred_at`` is the business clock (wall clock plus the controllable
    clock's offset), read inside the changing transaction, so before its commit. The offset
    only ever grew by whole ``step``s, so ``to_wall`` turns a time back into wall-clock time.
    The scheduler dates a step when it fell due rather than when it ran (a stage move
    ``stage_delay`` after the previous one, an expiry with code 130196 at the queue limit):
    such a step was made due by a clock move that finished after the stage was entered, so
    its commit is bounded by the earliest such move's start instead. Every bound is finally
    capped by the first answer that showed the event's state, which the event preceded.
    """

    to_wall: Callable[[datetime], float]
    moves: list[Answer]
    stage_delay: timedelta

    def bounds(
        self, row: sa.RowMapping, events: list[sa.RowMapping], answers: list[Answer]
    ) -> list[float]:
        found: list[float] = []
        entered, bound = row["created"], self.to_wall(row["created"])
        for index, event in enumerate(events):
            if self._dated_when_due(event, entered):
                enabling = [m.started for m in self.moves if m.ended >= bound]
                bound = max(bound, min(enabling, default=bound))
            else:
                bound = max(bound, self.to_wall(event["occurred_at"]))
            later = {(e["status"], e["pending_stage"]) for e in events[index:]}
            shown = [a.ended for a in answers if view_state(a) in later]
            found.append(min([bound, *shown]))
            entered = event["occurred_at"]
        return found

    def _dated_when_due(self, event: sa.RowMapping, entered: datetime) -> bool:
        return event["error_code"] == "130196" or event["occurred_at"] - entered == self.stage_delay


def error_item(answer: Answer) -> dict[str, Any] | None:
    try:
        item = answer.json()["Errors"]["Error"]
    except (ValueError, KeyError, TypeError):
        return None
    return item if isinstance(item, dict) else None


def is_error(answer: Answer, status: int, reason: str, code: str, source: str) -> bool:
    """``answer`` is exactly one ``Error`` with these values (and the documented members)."""
    item = error_item(answer)
    if answer.status != status or item is None:
        return False
    return bool(
        item.get("ReasonCode") == reason
        and item.get("Source") == source
        and item.get("Recoverable") == "false"
        and str(item.get("RequestId", "")).isdigit()
        and item.get("Details") == {"Detail": {"Name": "ErrorDetailCode", "Value": code}}
    )


def is_d6_refusal(answer: Answer) -> bool:
    item = error_item(answer) or {}
    described = item.get("Description") == "Cancellation not permitted on this transaction"
    return described and is_error(answer, 402, "DECLINE", "130111", "CancelPayment")


def is_cancel_win(answer: Answer) -> bool:
    return answer.status == 200 and answer.json() == CANCEL_SUCCESS


def view_state(answer: Answer) -> State | None:
    """The (status, stage) a 200 payment view showed."""
    if answer.status != 200 or answer.op == "cancel":
        return None
    view = answer.json()["payment"]
    return view["status"], view.get("pending_stage")


def d3_permits(recipient: str, state: State) -> bool:
    """D3 for the test's payments: mobile money (``tel``) in any pending stage, a bank
    account only while InsufficientBalance."""
    status, stage = state
    return status == "PENDING" and (stage == "InsufficientBalance" or recipient == "tel")


def shape_problems(answers: list[Answer]) -> Iterator[str]:
    """Transport errors, 5xx and "locked" anywhere: never acceptable."""
    for answer in answers:
        if answer.status == 0 or answer.status >= 500 or b"locked" in answer.body:
            yield f"unacceptable answer: {answer.brief()}"


def tracked_problems(t: Tracked, snap: Snapshot, clocks: Clocks) -> Iterator[str]:
    """Everything about one tracked payment."""
    payment_id = t.payment_id
    row = snap.payments.get(payment_id or "")
    if row is None:
        yield f"{t.label}: acknowledged create {payment_id} not stored"
        return
    stored: State = (row["status"], row["pending_stage"])
    rows = snap.events.get(row["id"], [])
    events = [(e["status"], e["pending_stage"]) for e in rows]
    wins = [a for a in t.answers if _wins(a)]
    yield from _answer_problems(t, payment_id or "")
    yield from _win_problems(t, wins, stored, row)
    initial = yield from _view_problems(t, events, stored)
    bounds = clocks.bounds(row, rows, t.answers)
    yield from _cancel_problems(t, initial, list(zip(bounds, events, strict=True)))


def _answer_problems(t: Tracked, payment_id: str) -> Iterator[str]:
    for a in t.answers:
        if a.op == "create" and (a.status != 200 or a.json()["payment"]["id"] != payment_id):
            yield f"{t.label}: create answered {a.brief()}"
        elif a.op == "cancel" and not (is_cancel_win(a) or is_d6_refusal(a)):
            yield f"{t.label}: cancel answered {a.brief()}"
        elif a.op == "retrieve" and a.status != 200:
            yield f"{t.label}: retrieve answered {a.brief()}"
        elif a.op in ADMIN_ACTIONS and a.status != 200:
            if not is_error(a, 409, "DECLINE", "130111", a.op):
                yield f"{t.label}: {a.op} answered {a.brief()}"


def _wins(answer: Answer) -> bool:
    return answer.status == 200 and answer.op in ("cancel", *ADMIN_ACTIONS)


def _win_problems(
    t: Tracked, wins: list[Answer], stored: State, row: sa.RowMapping
) -> Iterator[str]:
    finishers = [a for a in wins if _finished_by(a) is not None]
    if len(finishers) > 1:
        yield f"{t.label}: {len(finishers)} client actions finished it: " + "; ".join(
            a.brief() for a in finishers
        )
    cancelled = [a for a in wins if a.op == "cancel"]
    if (stored[0] == "CANCELLED") != bool(cancelled):
        yield f"{t.label}: stored {stored}, {len(cancelled)} cancels answered SUCCESS"
    for a in finishers:
        expected = _finished_by(a)
        if stored[0] not in LATER.get(expected or "", {expected}):
            yield f"{t.label}: {a.op} answered {expected}, stored {stored}"
    if any(a.op == "return" for a in wins) and stored[0] != "RETURNED":
        yield f"{t.label}: return answered 200, stored {stored}"
    if stored[0] == "REJECTED" and any(a.op == "reject" for a in wins):
        if row["rejection_code"] != REJECT_CODE:
            yield f"{t.label}: rejected with {row['rejection_code']}, not {REJECT_CODE}"


def _finished_by(answer: Answer) -> str | None:
    """The final status a winning client action produced, or None (a stage move)."""
    if answer.op == "cancel":
        return "CANCELLED"
    if answer.op in ("settle", "reject", "advance"):
        state = view_state(answer)
        return state[0] if state and state[0] != "PENDING" else None
    return None


def _view_problems(
    t: Tracked, events: list[State], stored: State
) -> Generator[str, None, State | None]:
    """Every state shown is an event state or the one initial state; returns the latter."""
    shown = {s for a in t.answers if (s := view_state(a)) is not None}
    extra = shown - set(events)
    if not events:
        extra |= {stored}
    if len(extra) > 1:
        yield f"{t.label}: answers showed states it never had: {sorted(map(str, extra))}"
    return next(iter(extra), None)


def _cancel_problems(
    t: Tracked, initial: State | None, timeline: list[tuple[float, State]]
) -> Iterator[str]:
    """D3 held at the moment each cancel was decided."""
    before = initial
    for _, state in timeline:
        if state[0] == "CANCELLED" and before is not None and not d3_permits(t.recipient, before):
            yield f"{t.label}: cancelled from {before}, which D3 does not allow"
        before = state
    if initial is not None and not d3_permits(t.recipient, initial):
        return  # never cancellable: every refusal was due
    closed = [at for at, state in timeline if not d3_permits(t.recipient, state)]
    closed_at = closed[0] if closed else float("inf")
    for a in t.answers:
        if a.op == "cancel" and is_d6_refusal(a) and a.ended < closed_at:
            yield f"{t.label}: cancel refused at {a.ended:.3f}, cancellable until {closed_at:.3f}"


def group_problems(group: Group, snap: Snapshot) -> Iterator[str]:
    """D7 under contention: one payment per reference, the losing payload refused."""
    rows = [
        r
        for r in snap.payments.values()
        if (r["partner_id"], r["transaction_reference"]) == (group.partner, group.reference)
    ]
    if len(rows) != 1:
        yield f"duplicate {group.reference}: {len(rows)} payments stored"
        return
    amount = _stored_amount(rows[0])
    winners = [k for k, answers in group.answers.items() if _payload_amount(answers) == amount]
    for label, answers in group.answers.items():
        for a in answers:
            if label in winners:
                if a.status != 200 or a.json()["payment"]["id"] != rows[0]["id"]:
                    yield f"duplicate {group.reference}: winning payload answered {a.brief()}"
            elif not is_error(a, 409, "INVALID_INPUT_VALUE", "082000", "transaction_reference"):
                yield f"duplicate {group.reference}: losing payload answered {a.brief()}"


def _stored_amount(row: sa.RowMapping) -> str:
    return str(json.loads(row["request_json"])["payment_amount"]["amount"])


def _payload_amount(answers: list[Answer]) -> str | None:
    for a in answers:
        if a.status == 200:
            return str(a.json()["payment"]["payment_amount"]["amount"])
    return None


def funding_problems(world: World, snap: Snapshot) -> Iterator[str]:
    """Each acknowledged funding is one FUND entry; each release it reported happened."""
    acknowledged: dict[str, int] = {}
    for partner, minor, answer in world.fundings:
        if answer.status != 200:
            yield f"fund answered {answer.brief()}"
            continue
        acknowledged[partner] = acknowledged.get(partner, 0) + minor
        for payment_id in answer.json()["released"]:
            moves = [(e["status"], e["pending_stage"]) for e in snap.events.get(payment_id, [])]
            if ("PENDING", "Processing") not in moves:
                yield f"fund released {payment_id}, which has no move to Processing"
    for partner, minor in acknowledged.items():
        if snap.funded(partner) != minor:
            yield f"{partner}: FUND entries {snap.funded(partner)}, acknowledged {minor}"


def other_problems(world: World) -> Iterator[str]:
    for a in world.global_ops:
        if a.status != 200:
            yield f"{a.op} answered {a.brief()}"
    for a in world.unknown:
        if not is_error(a, 404, "RESOURCE_UNKNOWN", "110507", "CancelPayment"):
            yield f"cancel of an unknown payment answered {a.brief()}"
