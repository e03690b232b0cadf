"""Money value object, ISO 4217 and ISO 3166-1 tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xborder.domain.countries import COUNTRIES, is_country
from xborder.domain.money import (
    AMOUNT_MAX_LENGTH,
    DECIMAL_PLACES,
    MAX_DIGITS,
    MINOR_UNITS,
    NON_MONETARY,
    Money,
    is_currency,
    minor_units,
)


def usd(text: str) -> Money:
    return Money.of(text, "USD")


# --- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("-3", Decimal(-3)),
        (7, Decimal(7)),
        (Decimal("0.1"), Decimal("0.1")),
    ],
)
def test_of_accepts_plain_decimal_text_int_and_decimal(
    amount: str | int | Decimal, expected: Decimal
) -> None:
    money = Money.of(amount, "USD")
    assert money.amount == expected
    assert money.currency == "USD"


@pytest.mark.parametrize("amount", [1.5, True, False])
def test_of_refuses_float_and_bool(amount: object) -> None:
    with pytest.raises(TypeError):
        Money.of(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["", " 1", "1 ", "1e3", "1_000", "NaN", "Infinity", "1.", ".5", "+1", "1,5"]
)
def test_of_refuses_text_that_is_not_a_plain_decimal(text: str) -> None:
    with pytest.raises(ValueError, match="decimal"):
        usd(text)


@pytest.mark.parametrize("currency", ["usd", "XXX", "XAU", "HRK", "ZWL", "ANG", "", "US"])
def test_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(ValueError, match="currency"):
        Money.of("1", currency)


def test_constructor_takes_only_a_finite_decimal() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money("1", "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        Money(Decimal("NaN"), "USD")


def test_money_is_frozen() -> None:
    money = usd("1")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)  # type: ignore[misc]


# --- arithmetic and ordering -------------------------------------------------------------------


def test_add_and_subtract_in_one_currency() -> None:
    assert usd("1.25") + usd("2.50") == usd("3.75")
    assert usd("1.25") - usd("2.50") == usd("-1.25")
    assert -usd("2") == usd("-2")


@pytest.mark.parametrize("op", ["add", "sub", "lt", "le", "gt", "ge"])
def test_mixed_currencies_raise_type_error(op: str) -> None:
    with pytest.raises(TypeError, match="USD with EUR"):
        getattr(usd("1"), f"__{op}__")(Money.of("1", "EUR"))


@pytest.mark.parametrize("other", [1, Decimal(1), "1"])
def test_money_does_not_mix_with_plain_numbers(other: object) -> None:
    with pytest.raises(TypeError):
        usd("1") + other
    with pytest.raises(TypeError):
        assert usd("1") < other  # type: ignore[operator]


def test_ordering() -> None:
    assert usd("1") < usd("2") <= usd("2.00") < usd("10")
    assert usd("10") > usd("9.99") >= usd("9.990")


def test_equality_ignores_scale_but_not_currency() -> None:
    assert usd("1.0") == usd("1.00")
    assert hash(usd("1.0")) == hash(usd("1.00"))
    assert usd("1") != Money.of("1", "EUR")


# --- minor units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [
        ("10", "USD", "10.00"),
        ("10.005", "USD", "10.00"),  # half-even
        ("10.015", "USD", "10.02"),
        ("1234.5", "JPY", "1234"),
        ("1235.5", "JPY", "1236"),
        ("1", "BHD", "1.000"),
        ("1.23456", "CLF", "1.2346"),
    ],
)
def test_quantize_to_minor_units(amount: str, currency: str, wire: str) -> None:
    assert Money.of(amount, currency).quantize().to_wire() == wire


def test_is_whole_minor_units() -> None:
    assert usd("10.500").is_whole_minor_units()
    assert not usd("10.005").is_whole_minor_units()
    assert Money.of("100.00", "JPY").is_whole_minor_units()
    assert not Money.of("100.5", "JPY").is_whole_minor_units()


def test_zero_has_the_currency_scale() -> None:
    assert Money.zero("USD").to_wire() == "0.00"
    assert Money.zero("JPY").to_wire() == "0"


def test_wire_and_str_never_use_exponent_notation() -> None:
    assert Money(Decimal("1E+2"), "USD").to_wire() == "100"
    assert str(Money(Decimal("1E-2"), "USD")) == "0.01"


# --- tables --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("CLF", 4),
        ("UYW", 4),
        ("XOF", 0),
        ("ZWG", 2),
        ("XCG", 2),
        ("SLE", 2),
        ("VED", 2),
    ],
)
def test_minor_unit_exponents(code: str, exponent: int) -> None:
    assert minor_units(code) == exponent
    assert is_currency(code)


def test_currency_table_is_the_active_list() -> None:
    assert len(MINOR_UNITS) == 167
    assert all(len(code) == 3 and code.isupper() for code in MINOR_UNITS)
    assert not {"HRK", "ZWL", "ANG", "VEF", "MRO", "STD", "BYR"} & set(MINOR_UNITS)
    assert not NON_MONETARY & set(MINOR_UNITS)
    assert not is_currency("usd")


def test_precision_constants_fit_every_currency() -> None:
    assert max(MINOR_UNITS.values()) == DECIMAL_PLACES
    assert MAX_DIGITS >= AMOUNT_MAX_LENGTH + DECIMAL_PLACES


def test_country_table() -> None:
    assert len(COUNTRIES) == 249
    assert all(len(code) == 3 and code.isupper() for code in COUNTRIES)
    for code in ("USA", "GBR", "KEN", "PHL", "CHE", "SSD", "BES"):
        assert is_country(code)
    for code in ("usa", "XXX", "UK", "EUR", "XKX", "ANT"):
        assert not is_country(code)


# --- properties ----------------------------------------------------------------------------------

currencies = st.sampled_from(sorted(MINOR_UNITS))
amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=4, allow_nan=False
)


@given(a=amounts, b=amounts, currency=currencies)
def test_addition_commutes_and_subtraction_undoes_it(a: Decimal, b: Decimal, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert x + y == y + x
    assert x + y - y == x


@given(a=amounts, b=amounts, currency=currencies)
def test_ordering_follows_amounts(a: Decimal, b: Decimal, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x < y) == (a < b)
    assert (x >= y) == (a >= b)


@given(amount=amounts, currency=currencies)
def test_quantize_is_idempotent_and_within_half_a_minor_unit(
    amount: Decimal, currency: str
) -> None:
    money = Money(amount, currency)
    once = money.quantize()
    assert once.quantize() == once
    assert once.is_whole_minor_units()
    assert abs(once.amount - amount) <= Decimal(1).scaleb(-once.exponent) / 2


@given(amount=amounts, currency=currencies)
def test_wire_text_round_trips(amount: Decimal, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.of(money.to_wire(), currency) == money
