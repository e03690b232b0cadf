"""Deterministic pricing: fees, FX rate and the amounts a payment response reports (D16).

The same request always prices the same: rates and fees come from a :class:`PricingTable`
(shipped defaults below, replaceable through settings), never from the clock or randomness.

Semantics (docs/reference.md §2.2 ``fx_type``):

* forward, fees included: the sender pays ``payment_amount``; fees come out of it.
* forward, fees excluded: ``payment_amount`` is the principal; fees come on top.
* reverse: ``payment_amount`` is what the recipient gets, in the recipient's currency.

The settlement the originating institution owes (``settlement_details``) is the charged
amount, in the settlement currency (the sender's currency unless configured otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from xborder.domain.errors import UnpricedCurrency
from xborder.domain.money import Money

RATE_PLACES = Decimal("0.0000000001")
"""fx_rate carries at most 10 decimals (docs/reference.md §2.3)."""

# Units of each currency for one US dollar. Illustrative, fixed figures: deterministic by design.
DEFAULT_RATES_PER_USD: Mapping[str, Decimal] = {
    code: Decimal(rate)
    for code, rate in {
        "USD": "1",
        "EUR": "0.92",
        "GBP": "0.79",
        "CHF": "0.88",
        "CAD": "1.36",
        "AUD": "1.52",
        "NZD": "1.66",
        "JPY": "151.5",
        "CNY": "7.24",
        "HKD": "7.82",
        "SGD": "1.35",
        "INR": "83.3",
        "PKR": "278.5",
        "BDT": "110.0",
        "LKR": "300.0",
        "NPR": "133.2",
        "PHP": "56.2",
        "IDR": "15700",
        "MYR": "4.72",
        "THB": "36.4",
        "VND": "24600",
        "KRW": "1350",
        "AED": "3.6725",
        "SAR": "3.75",
        "QAR": "3.64",
        "KWD": "0.307",
        "BHD": "0.376",
        "OMR": "0.385",
        "JOD": "0.709",
        "EGP": "47.5",
        "MAD": "10.05",
        "TND": "3.13",
        "NGN": "1450",
        "GHS": "12.9",
        "KES": "129.0",
        "UGX": "3800",
        "TZS": "2560",
        "ZAR": "18.6",
        "XOF": "604.0",
        "XAF": "604.0",
        "MXN": "17.1",
        "BRL": "5.0",
        "COP": "3950",
        "PEN": "3.75",
        "CLP": "940",
        "ARS": "870",
        "GTQ": "7.8",
        "DOP": "59.0",
        "HNL": "24.7",
        "JMD": "155.0",
        "HTG": "132.0",
        "PLN": "3.95",
        "CZK": "23.0",
        "HUF": "360",
        "RON": "4.6",
        "SEK": "10.5",
        "NOK": "10.7",
        "DKK": "6.87",
        "TRY": "32.3",
        "UAH": "39.5",
        "GEL": "2.7",
        "ILS": "3.7",
    }.items()
}


@dataclass(frozen=True, slots=True)
class PricingTable:
    """Rates and fees. ``fee_rate`` of the principal, at least ``min_fee`` sender units."""

    rates_per_usd: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_RATES_PER_USD)
    fee_rate: Decimal = Decimal("0.01")
    min_fee: Decimal = Decimal("1.00")
    settlement_currency: str | None = None

    def rate(self, source: str, target: str) -> Decimal | None:
        """Units of ``target`` for one unit of ``source``; None when either is not priced."""
        if source == target:
            return Decimal(1)
        if source not in self.rates_per_usd or target not in self.rates_per_usd:
            return None
        raw = self.rates_per_usd[target] / self.rates_per_usd[source]
        return raw.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN).normalize()

    def fee(self, principal: Money) -> Money:
        raw = max(principal.amount * self.fee_rate, self.min_fee)
        return Money(raw, principal.currency).quantize()


@dataclass(frozen=True, slots=True)
class Quote:
    """The priced figures of one payment."""

    fx_rate: Decimal
    fees: Money
    charged: Money
    credited: Money
    principal: Money
    settlement: Money


def price(
    amount: Money,
    *,
    reverse: bool,
    fees_included: bool,
    counter_currency: str,
    table: PricingTable,
) -> Quote:
    """Price a payment.

    Args:
        amount: ``payment_amount``: sender currency (forward) or recipient currency (reverse).
        reverse: True for ``fx_type.reverse``.
        fees_included: for forward payments, whether fees come out of ``amount``.
        counter_currency: the recipient currency (forward) or sender currency (reverse).
        table: rates and fees.

    Raises:
        UnpricedCurrency: no rate between the two currencies.
    """
    source, target = (
        (counter_currency, amount.currency) if reverse else (amount.currency, counter_currency)
    )
    rate = table.rate(source, target)
    if rate is None:
        raise UnpricedCurrency(f"{source}->{target}")
    if reverse:
        credited = amount.quantize()
        principal = Money(credited.amount / rate, source).quantize()
        fees = table.fee(principal)
        charged = principal + fees
    else:
        charged_or_principal = amount.quantize()
        fees = table.fee(charged_or_principal)
        principal = charged_or_principal - fees if fees_included else charged_or_principal
        charged = charged_or_principal if fees_included else charged_or_principal + fees
        credited = Money(principal.amount * rate, target).quantize()
    settlement = _settle(charged, table)
    return Quote(rate, fees, charged, credited, principal, settlement)


def _settle(charged: Money, table: PricingTable) -> Money:
    currency = table.settlement_currency or charged.currency
    rate = table.rate(charged.currency, currency)
    if rate is None:
        raise UnpricedCurrency(f"{charged.currency}->{currency}")
    return Money(charged.amount * rate, currency).quantize()
