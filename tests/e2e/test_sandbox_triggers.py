"""Every row of the sandbox trigger table (D15), walked through the API on every channel.

The walk iterates :data:`xborder.sandbox.scenarios.TRIGGERS` itself and looks each row up in
:data:`DOCUMENTED`, which restates the docs (docs/reference.md §3, README "Sandbox triggers"): a row
added to the code without its documented outcome here fails. For each row and each channel
(``tel:``, ``iban:``, ``pan:``, cash-out) it checks the create answer (or the ``Errors``
body of a refusal), Retrieve by reference and by id, and a later cancel, which must succeed
or be refused exactly as D3 says. Then the 11S…501 resubmission rules, the default outcome,
and the 06/04 triggers without a ``10####`` recipient.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.e2e.helpers import (
    CANCEL_SUCCESS,
    DOCUMENTED_CODES,
    FORMATS,
    NOT_PERMITTED,
    RECIPIENTS,
    Api,
    Recipient,
    d3_permits,
    row,
)
from xborder.clock import FixedClock
from xborder.sandbox.scenarios import TRIGGERS, Trigger

AMOUNT_FIELDS = ("fees_amount", "charged_amount", "credited_amount", "principal_amount")
PENDING_ONLY = ("pending_stage", "pending_max_completion_date")


@pytest.fixture(params=FORMATS)
def api(request: pytest.FixtureRequest, client: TestClient) -> Api:
    """The API driven in JSON, then in XML."""
    return Api(client, request.param)


@dataclass(frozen=True)
class Documented:
    """What the docs say a trigger does: the create answer (a ``payment`` with ``status`` and
    ``stage``, or a refusal with an ``Errors`` body of code ``refused_with``), what Retrieve
    shows afterwards, and the ``rejected_status.Code`` it carries."""

    status: str | None = None
    stage: str | None = None
    refused_with: str | None = None
    retrieved: str = "PENDING"
    reason: str | None = None
    blank_amounts: bool = False


def _pending(stage: str, *, blank_amounts: bool = False) -> Callable[[str], Documented]:
    return lambda _reference: Documented("PENDING", stage, blank_amounts=blank_amounts)


def _refused(code: str | None = None) -> Callable[[str], Documented]:
    """Refused at submission with ``code`` (or the code the reference ends with)."""

    def documented(reference: str) -> Documented:
        detail = code or reference[-6:]
        return Documented(refused_with=detail, retrieved="REJECTED", reason=detail)

    return documented


DOCUMENTED: dict[str, tuple[str, Callable[[str], Documented]]] = {
    "success": ("09", lambda _reference: Documented("SUCCESS", retrieved="SUCCESS")),
    "pending": ("06", _pending("Processing")),
    "rejected": ("04", _refused("130101")),
    "ambiguous": ("11S", _pending("Ambiguous", blank_amounts=True)),
    "rejected-with-code": ("2", _refused()),
    "returned": (
        "8",
        lambda reference: Documented("SUCCESS", retrieved="RETURNED", reason=reference[-6:]),
    ),
    "pending-Processing": ("PNDPR", _pending("Processing")),
    "pending-QueuedForFutureProcessing": ("PNDQF", _pending("QueuedForFutureProcessing")),
    "pending-EligibleForSettlement": ("PNDES", _pending("EligibleForSettlement")),
    "pending-Ambiguous": ("PNDAM", _pending("Ambiguous")),
    "pending-InsufficientBalance": ("PNDIB", _pending("InsufficientBalance")),
}
"""Trigger name -> the reference prefix the docs give it, and its documented outcome (given
the reference used)."""


def reference_of(example: str) -> str:
    """The reference of a row's ``example``, each ``X`` replaced by a digit."""
    digits = itertools.cycle("1234567890")
    return re.sub("X", lambda _: next(digits), example.split(" + ", 1)[0])


def test_every_trigger_row_has_its_documented_outcome_here() -> None:
    assert [trigger.name for trigger in TRIGGERS] == list(DOCUMENTED)


def test_every_recipient_meets_the_10_condition_of_06_and_04() -> None:
    assert all(re.search(r"10\d{4}$", r.uri) for r in RECIPIENTS.values())


# --- the walk -----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", list(RECIPIENTS))
@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda trigger: trigger.name)
def test_trigger_row(api: Api, clock: FixedClock, trigger: Trigger, channel: str) -> None:
    reference = reference_of(trigger.example)
    prefix, outcome = DOCUMENTED[trigger.name]
    assert reference.startswith(prefix), (trigger.name, reference)
    documented = outcome(reference)
    recipient = RECIPIENTS[channel]
    refusal = _check_create(api, recipient.request(reference), documented, channel)
    clock.advance(minutes=1)  # retrieve and cancel later: the state is kept (D13)
    view = _check_retrieve(api, reference, documented, refusal)
    _check_cancel(api, clock, recipient, view)


def _check_create(
    api: Api, request: dict[str, Any], documented: Documented, channel: str
) -> dict[str, Any] | None:
    """Create; check the answer. Returns the ``Error`` of a refusal, else None."""
    response = api.create(request)
    if documented.refused_with is not None:
        return api.errors(response, 402, row(documented.refused_with, ""))[0]
    payment = api.document(response)["payment"]
    assert (payment["status"], payment.get("pending_stage")) == (
        documented.status,
        documented.stage,
    )
    for name in PENDING_ONLY:
        assert (name in payment) == (documented.status == "PENDING"), name
    for name in AMOUNT_FIELDS:
        assert (name in payment) != documented.blank_amounts, name
    assert ("cashout_code" in payment) == (channel == "cash-out")
    assert "rejected_status" not in payment
    return None


def _check_retrieve(
    api: Api, reference: str, documented: Documented, refusal: dict[str, Any] | None
) -> dict[str, Any]:
    """Retrieve by reference and by id; check status, stage and ``rejected_status``."""
    view = api.found(reference)
    assert api.retrieved(view["id"]) == view
    assert view["status"] == documented.retrieved
    stage = documented.stage if documented.retrieved == "PENDING" else None
    assert view.get("pending_stage") == stage
    if documented.reason is None:
        assert "rejected_status" not in view
        return view
    description = DOCUMENTED_CODES.get(documented.reason, ("", None))[1]
    if description is None and refusal is not None:
        description = refusal["Description"]  # an undocumented code: the refusal names it
    message = view["rejected_status"]["Message"]
    assert message.startswith("DECLINE:") and message != "DECLINE:", message
    expected = {
        "Code": documented.reason,
        "Message": f"DECLINE:{description or message.removeprefix('DECLINE:')}",
    }
    assert view["rejected_status"] == expected
    return view


def _check_cancel(api: Api, clock: FixedClock, recipient: Recipient, view: dict[str, Any]) -> None:
    """Cancel by id: accepted or refused as D3 says; then Retrieve shows the result (D5)."""
    response = api.cancel(view["id"])
    if not d3_permits(recipient, view["status"], view.get("pending_stage")):
        api.errors(response, 402, NOT_PERMITTED)
        assert api.retrieved(view["id"]) == view
        return
    assert api.document(response) == CANCEL_SUCCESS
    after = api.retrieved(view["id"])
    assert after["status"] == "CANCELLED"
    assert not any(name in after for name in PENDING_ONLY)
    assert datetime.fromisoformat(after["status_timestamp"]) == clock.now()
    api.errors(api.cancel(view["id"]), 402, NOT_PERMITTED)


# --- 11S…501: the ambiguous payment and its resubmission ----------------------------------------

AMBIGUOUS = "11S1234567890501"


def _ambiguous(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh 11S…501 payment: its request and its create answer."""
    request = RECIPIENTS["tel"].request(AMBIGUOUS)
    payment = api.payment(request)
    assert (payment["status"], payment["pending_stage"]) == ("PENDING", "Ambiguous")
    return request, payment


@pytest.mark.parametrize("minutes", [5, 9, 31, 60])
def test_resubmission_outside_the_window_changes_nothing(
    api: Api, clock: FixedClock, minutes: int
) -> None:
    request, first = _ambiguous(api)
    clock.advance(minutes=minutes)
    assert api.payment(request) == first
    assert api.retrieved(first["id"])["pending_stage"] == "Ambiguous"


@pytest.mark.parametrize("minutes", [10, 20, 30])
def test_resubmission_in_the_window_succeeds(api: Api, clock: FixedClock, minutes: int) -> None:
    request, first = _ambiguous(api)
    clock.advance(minutes=minutes)
    again = api.payment(request)
    assert (again["id"], again["status"]) == (first["id"], "SUCCESS")
    assert not any(name in again for name in PENDING_ONLY)
    retrieved = api.retrieved(first["id"])
    assert retrieved["status"] == "SUCCESS"
    assert datetime.fromisoformat(retrieved["status_timestamp"]) == clock.now()
    api.errors(api.cancel(first["id"]), 402, NOT_PERMITTED)


def test_resubmission_too_early_then_in_the_window_then_again(api: Api, clock: FixedClock) -> None:
    request, first = _ambiguous(api)
    clock.advance(minutes=5)
    assert api.payment(request)["status"] == "PENDING"
    clock.advance(minutes=10)
    assert api.payment(request)["status"] == "SUCCESS"
    clock.advance(minutes=30)
    assert api.payment(request)["status"] == "SUCCESS"
    assert api.found(AMBIGUOUS)["id"] == first["id"]


@pytest.mark.parametrize("minutes", [0, 15])
def test_resubmission_with_another_payload_conflicts(
    api: Api, clock: FixedClock, minutes: int
) -> None:
    _, first = _ambiguous(api)
    clock.advance(minutes=minutes)
    changed = RECIPIENTS["tel"].request(AMBIGUOUS, sender_account_uri="tel:+12125559999")
    api.errors(api.create(changed), 409, row("082000", "transaction_reference"))
    after = api.retrieved(first["id"])
    assert (after["status"], after["pending_stage"]) == ("PENDING", "Ambiguous")


# --- no trigger ------------------------------------------------------------------------------


def _assert_default(api: Api, request: dict[str, Any]) -> None:
    payment = api.payment(request)
    assert (payment["status"], payment["pending_stage"]) == ("PENDING", "Processing")
    assert api.found(request["transaction_reference"])["status"] == "PENDING"


@pytest.mark.parametrize(
    "reference",
    ["DEMO-0001", "1234567890", "0812345678ACFQ", "2ABC12345", "8123RR12345", "11S123", "PNDXX1"],
)
def test_a_reference_matching_no_trigger_is_pending_processing(api: Api, reference: str) -> None:
    _assert_default(api, RECIPIENTS["tel"].request(reference))


@pytest.mark.parametrize(
    "uri", ["tel:+254712345", "tel:+2541089890", "iban:GB29NWBK60161331926819"]
)
@pytest.mark.parametrize("prefix", ["06", "04"])
def test_06_and_04_without_a_10_recipient_are_the_default(api: Api, prefix: str, uri: str) -> None:
    _assert_default(api, Recipient(uri, any_stage=False).request(f"{prefix}12345678"))
