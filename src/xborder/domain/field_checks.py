"""Value checks for the fields of a ``paymentrequest`` (docs/reference.md §2.2, §2.5, §9; D8).

A check takes one field value (text, already stripped) and returns the kind of its problem,
or ``None`` when the value is good: a forbidden character or a broken syntax is FORMAT; a
value outside its list is VALUE. The length of a value is the rule's concern, not the check's
(except the id inside a government id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final, TypeAlias

from xborder.domain.countries import is_country
from xborder.domain.errors import ProblemKind
from xborder.domain.money import is_currency

__all__ = [
    "ACCOUNT_URI_SCHEMES",
    "ACCOUNT_URI_SYNTAX",
    "GOVERNMENT_ID_MAX_LENGTH",
    "GOVERNMENT_ID_SCHEMES",
    "Check",
    "account_uri",
    "amount",
    "chain",
    "country",
    "currency",
    "digits",
    "government_id",
    "iso_date",
    "local_date_time",
    "one_of",
    "reference",
    "text",
    "uri_scheme",
]

GOVERNMENT_ID_SCHEMES: Final = frozenset({"ppn", "ssn", "ein", "tin", "aln", "cus", "idc", "dln"})
GOVERNMENT_ID_MAX_LENGTH: Final = 80

_VALUE, _LENGTH, _FORMAT = ProblemKind.VALUE, ProblemKind.LENGTH, ProblemKind.FORMAT

Check: TypeAlias = Callable[[str], ProblemKind | None]


def uri_scheme(uri: str | None) -> str | None:
    """The scheme before the first ``:`` of ``uri`` (``"tel"``), if it has a non-empty one."""
    scheme, colon, _ = (uri or "").partition(":")
    return scheme if colon and scheme else None


_BAD_TEXT: Final = re.compile(r"[{}|~\\\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""A character :func:`text` refuses: one of ``{ } | ~ \\``, a control character (Unicode
category Cc: U+0000-U+001F, U+007F-U+009F), a surrogate (Cs), U+FFFE or U+FFFF."""

_BAD_REFERENCE: Final = re.compile(r"[^ -~]|[{}|~\\,;]")
"""A character :func:`reference` refuses: outside printable ASCII, or one of ``{ } | ~ \\ , ;``."""


def text(value: str) -> ProblemKind | None:
    """Alphanumeric-special text (§9): no ``{ } | ~ \\``, no control characters, and nothing
    outside the characters XML 1.0 can carry (lone surrogates, U+FFFE, U+FFFF), since every
    value may have to be answered in XML."""
    return _FORMAT if _BAD_TEXT.search(value) else None


def reference(value: str) -> ProblemKind | None:
    """``transaction_reference``: printable ASCII except ``{ } | ~ \\ , ;``."""
    return _FORMAT if _BAD_REFERENCE.search(value) else None


def chain(*checks: Check) -> Check:
    """A check that runs ``checks`` in order and reports the first problem."""

    def check(value: str) -> ProblemKind | None:
        for step in checks:
            if (kind := step(value)) is not None:
                return kind
        return None

    return check


def one_of(allowed: frozenset[str]) -> Check:
    """A check that a value is one of ``allowed`` (else VALUE)."""
    return lambda value: None if value in allowed else _VALUE


def _code(known: Callable[[str], bool]) -> Check:
    """An upper-case alpha-3 code: letters only (else FORMAT), from the table (else VALUE)."""

    def check(value: str) -> ProblemKind | None:
        if not (value.isascii() and value.isalpha()):
            return _FORMAT
        return None if known(value) else _VALUE

    return check


currency = _code(is_currency)
country = _code(is_country)

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MMDDHHMMSS = re.compile(r"([0-9]{2})" * 5)


def amount(value: str) -> ProblemKind | None:
    """A positive plain decimal (``125.50``); negative or zero is VALUE, anything else FORMAT."""
    if _NEGATIVE.fullmatch(value):
        return _VALUE
    if not _DECIMAL.fullmatch(value):
        return _FORMAT
    return _VALUE if Decimal(value) == 0 else None


def digits(value: str) -> ProblemKind | None:
    """Decimal digits only (else FORMAT)."""
    return None if _DIGITS.fullmatch(value) else _FORMAT


def _real_date(year: int, month: int, day: int) -> ProblemKind | None:
    try:
        date(year, month, day)
    except ValueError:
        return _VALUE
    return None


def iso_date(value: str) -> ProblemKind | None:
    """``YYYY-MM-DD``: another syntax is FORMAT, a day that does not exist is VALUE."""
    match = _DATE.fullmatch(value)
    return _FORMAT if match is None else _real_date(*map(int, match.groups()))


def local_date_time(value: str) -> ProblemKind | None:
    """``MMDDHHMMSS``: another syntax is FORMAT, an impossible date or time is VALUE."""
    match = _MMDDHHMMSS.fullmatch(value)
    if match is None:
        return _FORMAT
    month, day, hour, minute, second = map(int, match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return _VALUE
    return _real_date(2000, month, day)  # a leap year: 0229 is a real local date


ACCOUNT_URI_SYNTAX: Final = MappingProxyType(
    {
        "tel": re.compile(r"tel:\+[0-9]{1,15}"),
        "ewallet": re.compile(r"ewallet:[^;]+(?:;sp=(?P<provider>[^;]+))?"),
        "ban": re.compile(r"ban:[^;]+;bic=[^;]+"),
        "iban": re.compile(r"iban:[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}"),
        "pan": re.compile(r"pan:[0-9]{12,19}(?:;exp=[0-9]{4}-(?P<month>[0-9]{2}))?"),
    }
)
"""Account URI syntax per scheme (docs/reference.md §2.5); schemes are lower case."""

ACCOUNT_URI_SCHEMES: Final = frozenset(ACCOUNT_URI_SYNTAX)


def account_uri(value: str) -> ProblemKind | None:
    """No scheme is FORMAT, an unknown scheme VALUE, a broken syntax FORMAT, exp month VALUE."""
    scheme = uri_scheme(value)
    if scheme is None:
        return _FORMAT
    if scheme not in ACCOUNT_URI_SYNTAX:
        return _VALUE
    match = ACCOUNT_URI_SYNTAX[scheme].fullmatch(value)
    if match is None:
        return _FORMAT
    month = match.groupdict().get("month")
    return _VALUE if month is not None and not "01" <= month <= "12" else None


_GOVERNMENT_ID_PARAMS: Final[Mapping[str, Check]] = MappingProxyType(
    {"expiration-date": iso_date, "issue-date": iso_date, "country": country}
)


def _government_id_param(param: str) -> ProblemKind | None:
    name, equals, value = param.partition("=")
    check = _GOVERNMENT_ID_PARAMS.get(name)
    return _FORMAT if check is None or not equals or not value else check(value)


def government_id(value: str) -> ProblemKind | None:
    """``<scheme>:<id>[;expiration-date=YYYY-MM-DD][;issue-date=YYYY-MM-DD][;country=AAA]``."""
    head, *params = value.split(";")
    scheme, colon, ident = head.partition(":")
    if not colon or not ident:
        return _FORMAT
    if scheme not in GOVERNMENT_ID_SCHEMES:
        return _VALUE
    if len(ident) > GOVERNMENT_ID_MAX_LENGTH:
        return _LENGTH
    kinds = (_government_id_param(param) for param in params)
    return next((kind for kind in kinds if kind is not None), None)
