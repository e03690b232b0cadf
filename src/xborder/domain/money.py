"""Money as a ``Decimal`` value object, the ISO 4217 currency table and the precision constants.

Invariants:
- an amount is a finite ``Decimal``, never a ``float``; it is built from a decimal string;
- every ``Money`` carries a currency from :data:`MINOR_UNITS`;
- arithmetic and ordering between two currencies raise ``TypeError``;
- every precision and rounding choice lives in the constants below, nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

# --- precision: the one place that says how many digits an amount may have -------------------

AMOUNT_MAX_LENGTH: Final = 18
"""Longest decimal string accepted for an amount on the wire (docs/reference.md §2.2)."""

DECIMAL_PLACES: Final = 4
"""Most fractional digits any currency has (CLF, UYW); storage scale for amounts."""

MAX_DIGITS: Final = AMOUNT_MAX_LENGTH + DECIMAL_PLACES
"""Storage precision: an 18-digit integer amount quantized to 4 places still fits."""

FX_RATE_PLACES: Final = 10
"""Fractional digits of an ``fx_rate`` on the wire (docs/reference.md §2.3)."""

ROUNDING: Final = ROUND_HALF_EVEN
"""Rounding used by :meth:`Money.quantize` (banker's rounding: no drift over many roundings)."""

# --- ISO 4217 -------------------------------------------------------------------------------

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMALS = "CLF UYW"
_TWO_DECIMALS = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
    KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
    NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
    SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS
    VED VES WST XCD XCG YER ZAR ZMW ZWG
"""

MINOR_UNITS: Final = MappingProxyType(
    {
        code: exponent
        for codes, exponent in (
            (_ZERO_DECIMALS, 0),
            (_TWO_DECIMALS, 2),
            (_THREE_DECIMALS, 3),
            (_FOUR_DECIMALS, 4),
        )
        for code in codes.split()
    }
)
"""Active ISO 4217 alpha-3 codes that have a minor unit, mapped to its exponent.

Recent changes applied: HRK (2023), ZWL (2024) and ANG (2025) withdrawn; ZWG and XCG added.
Codes that ISO lists with no minor unit ("N.A.") are in :data:`NON_MONETARY` instead.
"""

NON_MONETARY: Final = frozenset("XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX".split())
"""ISO 4217 codes without a minor unit (metals, units of account, test, no currency).

They are not currencies a payment can be made in, so :func:`is_currency` refuses them.
"""

_MINOR_UNIT_STEPS: Final = MappingProxyType(
    {code: Decimal(1).scaleb(-exponent) for code, exponent in MINOR_UNITS.items()}
)
"""The smallest amount of each currency (``Decimal("0.01")`` for USD): what amounts round to."""

_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def is_currency(code: str) -> bool:
    """True when ``code`` is an active ISO 4217 alpha-3 currency code (upper case)."""
    return code in MINOR_UNITS


def minor_units(code: str) -> int:
    """Number of fractional digits of ``code``'s minor unit; ``KeyError`` for an unknown code."""
    return MINOR_UNITS[code]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency.

    Build it with :meth:`of` from a decimal string; the constructor itself takes a ``Decimal``
    and refuses anything else. Equal amounts compare equal whatever their scale
    (``1.0 USD == 1.00 USD``); :meth:`to_wire` shows the scale as held.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, not {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise ValueError(f"Money amount must be finite, not {self.amount}")
        if not is_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}")

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Build from a plain decimal string (``"-12.50"``), an ``int`` or a ``Decimal``.

        Raises:
            TypeError: for a ``float`` or a ``bool`` (never silently rounded).
            ValueError: for text that is not a plain decimal, or an unknown currency.
        """
        if isinstance(amount, bool | float):
            raise TypeError(f"Money amount must not be a {type(amount).__name__}")
        if isinstance(amount, str) and not _PLAIN_DECIMAL.fullmatch(amount):
            raise ValueError(f"not a plain decimal amount: {amount!r}")
        try:
            return cls(Decimal(amount), currency)
        except InvalidOperation as exc:  # pragma: no cover - guarded by the pattern above
            raise ValueError(f"not a decimal amount: {amount!r}") from exc

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``, at its minor-unit scale."""
        return cls(Decimal(0), currency).quantize()

    @property
    def exponent(self) -> int:
        """Fractional digits of this currency's minor unit."""
        return MINOR_UNITS[self.currency]

    def quantize(self) -> Money:
        """This amount rounded (with :data:`ROUNDING`) to the currency's minor units."""
        step = _MINOR_UNIT_STEPS[self.currency]
        return Money(self.amount.quantize(step, rounding=ROUNDING), self.currency)

    def is_whole_minor_units(self) -> bool:
        """True when quantizing would not change the value (``10.500 USD`` is, ``10.005`` isn't)."""
        return self.quantize().amount == self.amount

    def to_wire(self) -> str:
        """The amount as a plain decimal string, never in exponent notation (D10)."""
        return format(self.amount, "f")

    def __str__(self) -> str:
        return self.to_wire()

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise TypeError(f"cannot combine {self.currency} with {other.currency}")
        return other
