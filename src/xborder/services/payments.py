"""Payment use cases: create, retrieve, cancel.

Each function opens its own unit of work, so a status change and everything it implies
(the outbox event included) commit together or not at all (D5).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from xborder.clock import Clock
from xborder.domain.channels import Channel, classify_channel, uri_provider, uri_scheme
from xborder.domain.codes import rejection_for
from xborder.domain.errors import (
    PaymentNotFound,
    PaymentRejected,
    ReferenceConflict,
    UnpricedCurrency,
)
from xborder.domain.lifecycle import LifecycleRules
from xborder.domain.model import CancelPolicy, Payment, new_cashout_code, new_payment_id
from xborder.domain.pricing import PricingTable, Quote, price
from xborder.domain.request import PaymentRequest
from xborder.domain.states import PaymentStatus, PendingStage
from xborder.sandbox import scenarios
from xborder.services import ledger
from xborder.services.errors import ConflictError, DuplicateReference, _AmountTooSmall
from xborder.services.unit_of_work import AbstractUnitOfWork

UowFactory = Callable[..., AbstractUnitOfWork]

SOURCE_CANCEL = "CancelPayment"
SOURCE_RETRIEVE = "GetPayment"
_MAX_RACE_RETRIES = 8


@dataclass(frozen=True, slots=True)
class PaymentRules:
    """Deployment rules the use cases apply (settings turn into one of these)."""

    cancel_policy: CancelPolicy = field(default_factory=CancelPolicy)
    pricing: PricingTable = field(default_factory=PricingTable)
    max_completion: timedelta = timedelta(days=5)
    lifecycle: LifecycleRules = field(default_factory=LifecycleRules)  # D16


def create_payment(
    partner_id: str,
    request: PaymentRequest,
    *,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
) -> Payment:
    """Create a payment, or replay the existing one for a safe retry (D7).

    Raises:
        PaymentRejected: the payment was refused at submission; it is stored REJECTED.
        ReferenceConflict: the reference exists with a different payload (D7).
    """
    for _ in range(_MAX_RACE_RETRIES):
        with uow_factory() as uow:
            existing = uow.payments.get_by_reference(partner_id, request.transaction_reference)
            if existing is not None:
                payment = _replay(existing, request, uow, clock)
            else:
                now = clock.now()  # one instant for everything the creation implies
                environment = ledger.environment_of(uow, partner_id)  # D13
                payment, outcome = _new_payment(partner_id, request, now, rules, environment)
                placement = ledger.place(uow, payment, now, rules.lifecycle)  # D16
                answer = dataclasses.replace(payment, events=[])
                _follow_flow(payment, outcome, now)
                try:
                    uow.payments.add(payment)
                except DuplicateReference:
                    continue  # a concurrent create won: replay theirs on the next pass
                ledger.record(uow, placement, payment.id, now)
                payment = answer
            uow.commit()
        _raise_if_rejected_at_submission(payment)
        return payment
    raise ConflictError("create_payment kept losing races")  # pragma: no cover


def get_payment(partner_id: str, payment_id: str, *, uow_factory: UowFactory) -> Payment:
    """Retrieve a payment by id. Raises :class:`PaymentNotFound` (Source GetPayment)."""
    with uow_factory(readonly=True) as uow:
        payment = uow.payments.get(partner_id, payment_id)
    if payment is None:
        raise PaymentNotFound(SOURCE_RETRIEVE)
    return payment


def find_payment(partner_id: str, reference: str, *, uow_factory: UowFactory) -> Payment:
    """Retrieve a payment by transaction reference (``?ref=``)."""
    with uow_factory(readonly=True) as uow:
        payment = uow.payments.get_by_reference(partner_id, reference)
    if payment is None:
        raise PaymentNotFound(SOURCE_RETRIEVE)
    return payment


def cancel_payment(
    partner_id: str,
    id_or_reference: str,
    *,
    uow_factory: UowFactory,
    clock: Clock,
    rules: PaymentRules,
) -> Payment:
    """Cancel a PENDING payment by id or by reference (D1, D2, D3, D5).

    The change is one conditional update on the payment's version: of any number of
    concurrent cancels exactly one wins; the others see the CANCELLED payment and get
    :class:`CancellationNotPermitted` (D6).

    Raises:
        PaymentNotFound: no such payment for this partner (Source CancelPayment).
        CancellationNotPermitted: D3 refuses.
    """
    now = clock.now()  # D22: one instant for everything the cancellation writes
    for _ in range(_MAX_RACE_RETRIES):
        with uow_factory() as uow:
            payment = _lookup(uow, partner_id, id_or_reference)
            account = ledger.lock_account(uow, payment, now)  # before the save
            payment.cancel(now, rules.cancel_policy)
            try:
                uow.payments.save(payment)
                ledger.release_held(uow, account, payment, now)  # D5, D16
                ledger.drain(uow, account, now, rules.lifecycle)
            except ConflictError:
                continue  # somebody changed it first: decide again on the fresh state
            uow.commit()
        return payment
    raise ConflictError("cancel_payment kept losing races")  # pragma: no cover


def _lookup(uow: AbstractUnitOfWork, partner_id: str, key: str) -> Payment:
    payment = uow.payments.get(partner_id, key) or uow.payments.get_by_reference(partner_id, key)
    if payment is None:
        raise PaymentNotFound(SOURCE_CANCEL)
    return payment


def _replay(
    existing: Payment, request: PaymentRequest, uow: AbstractUnitOfWork, clock: Clock
) -> Payment:
    """D7: same payload returns the existing payment; another payload is a conflict."""
    if existing.request_fingerprint != request.fingerprint():
        raise ReferenceConflict("transaction_reference")
    if _awaits_resubmission(existing):  # the clock is read only when it decides
        now = clock.now()
        if _resubmitted_in_window(existing, now):
            existing.settle(now)
            uow.payments.save(existing)
    return existing


def _awaits_resubmission(payment: Payment) -> bool:
    """Sandbox 11S…501: a payment left ambiguous until the same request comes again."""
    if payment.environment != "sandbox" or payment.pending_stage is not PendingStage.AMBIGUOUS:
        return False
    outcome = scenarios.outcome_for(payment.transaction_reference, _recipient(payment))
    return outcome.flow is scenarios.Flow.AMBIGUOUS_RESUBMIT


def _resubmitted_in_window(payment: Payment, now: datetime) -> bool:
    """The same request again, 10 to 30 minutes later, succeeds."""
    age = now - payment.created
    return scenarios.RESUBMIT_NOT_BEFORE <= age <= scenarios.RESUBMIT_NOT_AFTER


def _recipient(payment: Payment) -> str | None:
    value = payment.request.get("recipient_account_uri")
    return value if isinstance(value, str) else None


def _raise_if_rejected_at_submission(payment: Payment) -> None:
    if payment.status is PaymentStatus.REJECTED and payment.rejection is not None:
        if payment.status_timestamp == payment.created:
            raise PaymentRejected(payment.rejection, payment.id)


def _new_payment(
    partner_id: str,
    request: PaymentRequest,
    now: datetime,
    rules: PaymentRules,
    environment: str = "sandbox",
) -> tuple[Payment, scenarios.Outcome]:
    channel = _channel(request)
    outcome = (  # D13: triggers decide in the sandbox only; elsewhere the lifecycle does
        scenarios.outcome_for(request.transaction_reference, request.recipient_account_uri)
        if environment == "sandbox"
        else scenarios.DEFAULT_OUTCOME
    )
    payment = Payment(
        id=new_payment_id(),
        partner_id=partner_id,
        transaction_reference=request.transaction_reference,
        request=request.wire,
        request_fingerprint=request.fingerprint(),
        channel=channel,
        provider=uri_provider(request.recipient_account_uri),
        status=outcome.status,
        pending_stage=outcome.stage,
        created=now,
        status_timestamp=now,
        cashout_code=new_cashout_code() if channel is Channel.CASH_OUT else None,
        rejection=outcome.rejection if outcome.status is PaymentStatus.REJECTED else None,
        environment=environment,
    )
    if outcome.stage is not None:
        payment.pending_max_completion_date = now + rules.max_completion
    _apply_pricing(payment, request, rules, blank=outcome.blank_amounts)
    return payment, outcome


def _follow_flow(payment: Payment, outcome: scenarios.Outcome, now: datetime) -> None:
    """Sandbox 8…RR<code>: the create answers SUCCESS; Retrieve then shows RETURNED."""
    if payment.status is not PaymentStatus.SUCCESS:
        return
    if outcome.flow is scenarios.Flow.RETURN_AFTER_SUCCESS:
        payment.return_(now, outcome.rejection, None)


def _apply_pricing(
    payment: Payment, request: PaymentRequest, rules: PaymentRules, *, blank: bool
) -> None:
    """Price the payment; a currency we cannot price rejects it with 130101."""
    if payment.status is PaymentStatus.REJECTED or blank:
        return
    try:
        payment.quote = _quote(request, rules.pricing)
    except UnpricedCurrency:
        payment.refuse(rejection_for("130101"))
    except _AmountTooSmall:
        payment.refuse(rejection_for("082000", "payment_amount.amount"))


def _quote(request: PaymentRequest, table: PricingTable) -> Quote | None:
    amount = request.payment_amount
    if amount is None:
        return None
    fx = request.fx_type
    counter = (fx.sender_currency if fx.reverse else fx.receiver_currency) or amount.currency
    quote = price(
        amount,
        reverse=fx.reverse,
        fees_included=fx.fees_included,
        counter_currency=counter,
        table=table,
    )
    if quote.principal.amount <= 0:
        raise _AmountTooSmall(str(amount))
    return quote


def _channel(request: PaymentRequest) -> Channel:
    cash_pickup = uri_scheme(request.recipient_account_uri) == "ewallet" and bool(request.bank_code)
    return classify_channel(
        request.recipient_account_uri, request.additional_value, cash_pickup=cash_pickup
    )
