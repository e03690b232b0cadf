"""The transition table, tested exhaustively."""

from __future__ import annotations

import itertools

import pytest

from xborder.domain.errors import InvalidTransition
from xborder.domain.states import TRANSITIONS, PaymentStatus, check_transition, is_final

ALLOWED = {
    ("PENDING", "PENDING"),
    ("PENDING", "SUCCESS"),
    ("PENDING", "REJECTED"),
    ("PENDING", "CANCELLED"),
    ("SUCCESS", "RETURNED"),
}


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(PaymentStatus, PaymentStatus))
)
def test_every_pair(current: PaymentStatus, target: PaymentStatus) -> None:
    if (current.value, target.value) in ALLOWED:
        check_transition(current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)


def test_final_statuses() -> None:
    assert {s for s in PaymentStatus if is_final(s)} == {
        PaymentStatus.REJECTED,
        PaymentStatus.RETURNED,
        PaymentStatus.CANCELLED,
    }
    assert set(TRANSITIONS) == set(PaymentStatus)
