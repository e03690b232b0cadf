"""The whole cancel matrix of D3: every status x pending stage x channel (x provider)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from xborder.domain.channels import Channel
from xborder.domain.errors import CancellationNotPermitted
from xborder.domain.model import CancelPolicy, Payment
from xborder.domain.states import PaymentStatus, PendingStage

NOW = datetime(2026, 11, 26, tzinfo=UTC)
POLICY = CancelPolicy(frozenset({"nocancel"}))
PROVIDERS = (None, "mpesa", "nocancel")


def _payment(
    status: PaymentStatus, stage: PendingStage | None, channel: Channel, provider: str | None
) -> Payment:
    return Payment(
        id="rem_x",
        partner_id="P",
        transaction_reference="R",
        request={},
        request_fingerprint="f",
        channel=channel,
        provider=provider,
        status=status,
        pending_stage=stage,
        created=NOW,
        status_timestamp=NOW,
    )


def _expected(
    status: PaymentStatus, stage: PendingStage | None, channel: Channel, provider: str | None
) -> bool:
    """D3 restated independently of the implementation, as a truth table."""
    if status is not PaymentStatus.PENDING:
        return False
    return (
        stage is PendingStage.INSUFFICIENT_BALANCE
        or channel is Channel.CASH_OUT
        or (channel is Channel.MOBILE_MONEY and provider != "nocancel")
    )


def _cases() -> list[tuple[PaymentStatus, PendingStage | None, Channel, str | None]]:
    cases: list[tuple[PaymentStatus, PendingStage | None, Channel, str | None]] = []
    for status, channel, provider in itertools.product(PaymentStatus, Channel, PROVIDERS):
        stages = list(PendingStage) if status is PaymentStatus.PENDING else [None]
        cases.extend((status, stage, channel, provider) for stage in stages)
    return cases


@pytest.mark.parametrize(("status", "stage", "channel", "provider"), _cases())
def test_cancel_matrix(
    status: PaymentStatus, stage: PendingStage | None, channel: Channel, provider: str | None
) -> None:
    payment = _payment(status, stage, channel, provider)
    later = datetime(2026, 11, 27, tzinfo=UTC)
    if _expected(status, stage, channel, provider):
        payment.cancel(later, POLICY)
        assert payment.status is PaymentStatus.CANCELLED
        assert payment.pending_stage is None
        assert payment.pending_max_completion_date is None
        assert payment.status_timestamp == later
        assert [e.status for e in payment.events] == [PaymentStatus.CANCELLED]
    else:
        with pytest.raises(CancellationNotPermitted):
            payment.cancel(later, POLICY)
        assert payment.status is status
        assert payment.events == []


def test_second_cancel_is_refused() -> None:
    payment = _payment(PaymentStatus.PENDING, PendingStage.INSUFFICIENT_BALANCE, Channel.CARD, None)
    payment.cancel(NOW, POLICY)
    with pytest.raises(CancellationNotPermitted):
        payment.cancel(NOW, POLICY)
    assert len(payment.events) == 1


def test_provider_match_ignores_case() -> None:
    payment = _payment(
        PaymentStatus.PENDING, PendingStage.PROCESSING, Channel.MOBILE_MONEY, "NoCancel"
    )
    assert not POLICY.permits(payment)
