"""Parse and validate the ``paymentrequest`` body of the Payment API (xbs-api.md §2.2, D8).

The input is the value under the root ``paymentrequest`` as a codec decoded it: objects are
mappings, values are strings (JSON numbers arrive as their literal text), JSON booleans are
``bool``, ``None`` means absent, an empty XML element is ``""`` and repeated XML elements are
lists. Both codecs therefore reach the same result. Parsing runs in three steps:

1. **Shape.** ``_Shaper`` walks the body along ``_SCHEMA`` (the fields of §2.2 in their
   documented order) and builds the *canonical tree*: known members only, in schema order;
   text with its surrounding XML whitespace (space, tab, CR, LF) removed; ``None`` and blank
   text dropped as absent; ``fees_included`` as ``"true"``/``"false"``; ``government_ids`` as
   ``{"government_id_uri": [uri, ...]}`` and ``additional_data`` as
   ``{"data_field": [{"name": ..., "value": ...}, ...]}`` whichever form they came in. A
   member of the wrong kind (a list where one value belongs, text where an object belongs) is
   a FORMAT problem. An empty object (``{}`` or ``""`` where an object belongs) is present
   but empty.
2. **Rules.** ``_RULES`` is one table of field rules (presence, length, content), with
   cross-field conditions read from a ``_Context``. Every problem is collected, one
   ``FieldProblem`` per problem, sorted into field order; then ``ValidationFailed`` is raised.
3. **Build.** A valid tree becomes a :class:`PaymentRequest`; its ``wire`` is the tree with
   empty objects removed and the amount written at its currency's minor units.

Problem kinds (D8): a required field absent is MISSING; a length outside the field's range is
LENGTH; a forbidden character or a broken syntax is FORMAT; a value outside its list or a
combination of fields that is not allowed is VALUE. A value gets at most one problem: the
first of length, characters, syntax, list.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final, TypeAlias

from xborder.domain.countries import is_country
from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.domain.money import Money, is_currency

__all__ = [
    "ACCOUNT_URI_SCHEMES",
    "GOVERNMENT_ID_SCHEMES",
    "PAYMENT_TYPES",
    "PURPOSES_OF_PAYMENT",
    "ROOT",
    "FxDirection",
    "FxType",
    "PaymentRequest",
    "parse_payment_request",
]

ROOT: Final = "paymentrequest"
"""The root element; the Source of a problem with the body as a whole."""

PAYMENT_TYPES: Final = frozenset({"P2P", "P2B", "B2P", "B2B", "G2P"})
PURPOSES_OF_PAYMENT: Final = frozenset(
    {
        "Family Maintenance",
        "Household Maintenance",
        "Donation or Gifts",
        "Payment of Loan",
        "Purchase of Property",
        "Funeral Expenses",
        "Medical Expenses",
        "Wedding Expenses",
        "Payment of bills",
        "Education",
        "Savings",
        "Employee Colleague",
        "Business/Investment",
        "Salary",
        "Payment of goods and services",
    }
)
"""The documented values, matched exactly (case included)."""

GOVERNMENT_ID_SCHEMES: Final = frozenset({"ppn", "ssn", "ein", "tin", "aln", "cus", "idc", "dln"})
GOVERNMENT_ID_MAX_LENGTH: Final = 80

_PERSON_SENDER: Final = frozenset({"P2P", "P2B"})
_PERSON_RECIPIENT: Final = frozenset({"P2P", "B2P", "G2P"})

_MISSING, _VALUE = ProblemKind.MISSING, ProblemKind.VALUE
_LENGTH, _FORMAT = ProblemKind.LENGTH, ProblemKind.FORMAT

# --- the canonical shape ----------------------------------------------------------------------


class _Leaf(enum.Enum):
    TEXT = "text"  # one string
    FLAG = "flag"  # "true"/"false" or a bool
    IDS = "ids"  # government_ids in any of its forms
    DATA = "data"  # additional_data in any of its forms


_Schema: TypeAlias = Mapping[str, "_Leaf | _Schema"]
_Tree: TypeAlias = dict[str, object]

_URI: Final = "government_id_uri"
_DATA_FIELD: Final = "data_field"
_XML_SPACE: Final = " \t\r\n"


def _texts(*names: str) -> dict[str, _Leaf | _Schema]:
    return dict.fromkeys(names, _Leaf.TEXT)


def _party_schema(*extra: str) -> _Schema:
    address = _texts("line1", "line2", "city", "country_subdivision", "postal_code", "country")
    return {
        **_texts("first_name", "middle_name", "last_name", "organization_name", "nationality"),
        "address": address,
        "government_ids": _Leaf.IDS,
        **_texts("date_of_birth", *extra),
    }


_SCHEMA: Final[_Schema] = {
    **_texts(
        "transaction_reference",
        "proposal_id",
        "local_date_time",
        "sender_account_uri",
        "recipient_account_uri",
    ),
    "payment_amount": _texts("amount", "currency"),
    "payment_origination_country": _Leaf.TEXT,
    "fx_type": {
        "forward": {"fees_included": _Leaf.FLAG, "receiver_currency": _Leaf.TEXT},
        "reverse": _texts("sender_currency"),
    },
    **_texts(
        "receiving_bank_name",
        "receiving_bank_branch_name",
        "bank_code",
        "payment_type",
        "source_of_income",
    ),
    "sender": _party_schema(),
    "recipient": _party_schema("phone", "email"),
    **_texts("purpose_of_payment", "payment_file_identifier", "card_rate_id"),
    "additional_data": _Leaf.DATA,
}
"""Every field of §2.2, in the documented order: the order of ``wire`` and of problems."""


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _field_paths(schema: _Schema, parent: str = "") -> Iterator[str]:
    for name, node in schema.items():
        path = _join(parent, name)
        yield path
        if node is _Leaf.IDS:
            yield f"{path}.{_URI}"
        elif node is _Leaf.DATA:
            yield from (f"{path}.{_DATA_FIELD}", f"{path}.{_DATA_FIELD}.name")
            yield f"{path}.{_DATA_FIELD}.value"
        elif isinstance(node, Mapping):
            yield from _field_paths(node, path)


_POSITION: Final = MappingProxyType({p: i for i, p in enumerate(_field_paths(_SCHEMA))})


def _is_blank(raw: object) -> bool:
    return isinstance(raw, str) and not raw.strip(_XML_SPACE)


class _Shaper:
    """Builds the canonical tree; records structural problems and the paths they broke."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []
        self.broken: set[str] = set()

    def fail(self, path: str) -> None:
        self.problems.append(FieldProblem(_FORMAT, path))
        self.broken.add(path)

    def mapping(self, raw: object, path: str) -> Mapping[str, object] | None:
        if raw is None:
            return None
        if _is_blank(raw):
            return {}
        if isinstance(raw, Mapping):
            return raw
        self.fail(path)
        return None

    def members(self, raw: Mapping[str, object], schema: _Schema, parent: str) -> _Tree:
        tree: _Tree = {}
        for name, node in schema.items():
            value = self.member(raw.get(name), node, _join(parent, name))
            if value is not None:
                tree[name] = value
        return tree

    def member(self, raw: object, node: _Leaf | _Schema, path: str) -> object | None:
        if not isinstance(node, _Leaf):
            found = self.mapping(raw, path)
            return None if found is None else self.members(found, node, path)
        if node is _Leaf.FLAG and isinstance(raw, bool):
            return "true" if raw else "false"
        if node is _Leaf.IDS:
            return self.government_ids(raw, path)
        if node is _Leaf.DATA:
            return self.additional_data(raw, path)
        return self.text(raw, path)

    def text(self, raw: object, path: str) -> str | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            self.fail(path)
            return None
        return raw.strip(_XML_SPACE) or None

    def items(self, raw: object, path: str) -> list[Mapping[str, object]]:
        """One object or a list of them; blank and empty items are dropped."""
        found = (self.mapping(item, path) for item in (raw if isinstance(raw, list) else [raw]))
        return [item for item in found if item]

    def government_ids(self, raw: object, path: str) -> _Tree | None:
        uris: list[str] = []
        for item in self.items(raw, path):
            values = item.get(_URI)
            for value in values if isinstance(values, list) else [values]:
                uri = self.text(value, f"{path}.{_URI}")
                uris.extend([uri] if uri else [])
        return {_URI: uris} if uris else None

    def additional_data(self, raw: object, path: str) -> _Tree | None:
        holder = self.mapping(raw, path)
        where = f"{path}.{_DATA_FIELD}"
        items = self.items(holder.get(_DATA_FIELD), where) if holder else []
        fields = [self.data_field(item, where) for item in items]
        return {_DATA_FIELD: fields} if fields else None

    def data_field(self, item: Mapping[str, object], path: str) -> dict[str, str]:
        found = {key: self.text(item.get(key), f"{path}.{key}") for key in ("name", "value")}
        return {key: value for key, value in found.items() if value is not None}


def _flatten(values: Iterable[object]) -> Iterator[object]:
    for value in values:
        if isinstance(value, list):
            yield from value
        else:
            yield value


def _lookup(tree: Mapping[str, object], path: str) -> list[object]:
    """The values at ``path``, one per occurrence (``None`` where a present parent lacks it)."""
    nodes: list[object] = [tree]
    for name in path.split("."):
        nodes = list(_flatten(node.get(name) for node in nodes if isinstance(node, dict)))
    return nodes


def _first_text(tree: Mapping[str, object], path: str) -> str | None:
    return next((v for v in _lookup(tree, path) if isinstance(v, str)), None)


def _scheme(uri: str | None) -> str | None:
    scheme, colon, _ = (uri or "").partition(":")
    return scheme if colon and scheme else None


# --- checks: value -> problem kind or None ----------------------------------------------------

Check: TypeAlias = Callable[[str], ProblemKind | None]

_FORBIDDEN_TEXT: Final = frozenset("{}|~\\")
_FORBIDDEN_REFERENCE: Final = _FORBIDDEN_TEXT | {",", ";"}


def _text(value: str) -> ProblemKind | None:
    """Alphanumeric-special text (§9): no ``{ } | ~ \\`` and no control characters."""
    bad = any(ch in _FORBIDDEN_TEXT or unicodedata.category(ch) == "Cc" for ch in value)
    return _FORMAT if bad else None


def _reference(value: str) -> ProblemKind | None:
    """``transaction_reference``: printable ASCII except ``{ } | ~ \\ , ;``."""
    bad = any(not " " <= ch <= "~" or ch in _FORBIDDEN_REFERENCE for ch in value)
    return _FORMAT if bad else None


def _chain(*checks: Check) -> Check:
    def check(value: str) -> ProblemKind | None:
        for step in checks:
            if (kind := step(value)) is not None:
                return kind
        return None

    return check


def _one_of(allowed: frozenset[str]) -> Check:
    return lambda value: None if value in allowed else _VALUE


def _code(known: Callable[[str], bool]) -> Check:
    """An upper-case alpha-3 code: letters only (else FORMAT), from the table (else VALUE)."""

    def check(value: str) -> ProblemKind | None:
        if not (value.isascii() and value.isalpha()):
            return _FORMAT
        return None if known(value) else _VALUE

    return check


_currency = _code(is_currency)
_country = _code(is_country)

_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_NEGATIVE = re.compile(r"-[0-9]+(?:\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MMDDHHMMSS = re.compile(r"([0-9]{2})" * 5)


def _amount(value: str) -> ProblemKind | None:
    """A positive plain decimal (``125.50``); negative or zero is VALUE, anything else FORMAT."""
    if _NEGATIVE.fullmatch(value):
        return _VALUE
    if not _DECIMAL.fullmatch(value):
        return _FORMAT
    return _VALUE if Decimal(value) == 0 else None


def _digits(value: str) -> ProblemKind | None:
    return None if _DIGITS.fullmatch(value) else _FORMAT


def _real_date(year: int, month: int, day: int) -> ProblemKind | None:
    try:
        date(year, month, day)
    except ValueError:
        return _VALUE
    return None


def _date(value: str) -> ProblemKind | None:
    """``YYYY-MM-DD``: another syntax is FORMAT, a day that does not exist is VALUE."""
    match = _DATE.fullmatch(value)
    return _FORMAT if match is None else _real_date(*map(int, match.groups()))


def _local_date_time(value: str) -> ProblemKind | None:
    """``MMDDHHMMSS``: another syntax is FORMAT, an impossible date or time is VALUE."""
    match = _MMDDHHMMSS.fullmatch(value)
    if match is None:
        return _FORMAT
    month, day, hour, minute, second = map(int, match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return _VALUE
    return _real_date(2000, month, day)  # a leap year: 0229 is a real local date


_ACCOUNT_URI_SYNTAX: Final = MappingProxyType(
    {
        "tel": re.compile(r"tel:\+[0-9]{1,15}"),
        "ewallet": re.compile(r"ewallet:[^;]+(?:;sp=(?P<provider>[^;]+))?"),
        "ban": re.compile(r"ban:[^;]+;bic=[^;]+"),
        "iban": re.compile(r"iban:[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}"),
        "pan": re.compile(r"pan:[0-9]{12,19}(?:;exp=[0-9]{4}-(?P<month>[0-9]{2}))?"),
    }
)
"""Account URI syntax per scheme (xbs-api.md §2.5); schemes are lower case."""

ACCOUNT_URI_SCHEMES: Final = frozenset(_ACCOUNT_URI_SYNTAX)


def _account_uri(value: str) -> ProblemKind | None:
    """No scheme is FORMAT, an unknown scheme VALUE, a broken syntax FORMAT, exp month VALUE."""
    scheme = _scheme(value)
    if scheme is None:
        return _FORMAT
    if scheme not in _ACCOUNT_URI_SYNTAX:
        return _VALUE
    match = _ACCOUNT_URI_SYNTAX[scheme].fullmatch(value)
    if match is None:
        return _FORMAT
    month = match.groupdict().get("month")
    return _VALUE if month is not None and not "01" <= month <= "12" else None


_GOVERNMENT_ID_PARAMS: Final[Mapping[str, Check]] = MappingProxyType(
    {"expiration-date": _date, "issue-date": _date, "country": _country}
)


def _government_id_param(param: str) -> ProblemKind | None:
    name, equals, value = param.partition("=")
    check = _GOVERNMENT_ID_PARAMS.get(name)
    return _FORMAT if check is None or not equals or not value else check(value)


def _government_id(value: str) -> ProblemKind | None:
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


# --- rules --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """Cross-field facts the conditions of the rules read."""

    tree: Mapping[str, object]

    def has(self, path: str) -> bool:
        return any(value is not None for value in _lookup(self.tree, path))

    @property
    def payment_type(self) -> str | None:
        value = _first_text(self.tree, "payment_type")
        return value if value in PAYMENT_TYPES else None

    @property
    def recipient_scheme(self) -> str | None:
        return _scheme(_first_text(self.tree, "recipient_account_uri"))


Condition: TypeAlias = Callable[[_Context], bool]
Relation: TypeAlias = Callable[[str, _Context], ProblemKind | None]


def _never(ctx: _Context) -> bool:
    return False


def _always(ctx: _Context) -> bool:
    return True


def _has(path: str) -> Condition:
    return lambda ctx: ctx.has(path)


def _lacks(path: str) -> Condition:
    return lambda ctx: not ctx.has(path)


def _type_in(types: frozenset[str]) -> Condition:
    return lambda ctx: ctx.payment_type in types


def _recipient_is_pan(ctx: _Context) -> bool:
    return ctx.recipient_scheme == "pan"


def _forward_to_pan(ctx: _Context) -> bool:
    return _recipient_is_pan(ctx) and not ctx.has("fx_type.reverse")


def _reverse_alone(ctx: _Context) -> bool:
    return ctx.has("fx_type.reverse") and not ctx.has("fx_type.forward")


def _whole_minor_units(value: str, ctx: _Context) -> ProblemKind | None:
    """More decimals than the currency's minor unit (``10.005 USD``) is VALUE."""
    currency = _first_text(ctx.tree, "payment_amount.currency")
    if currency is None or not is_currency(currency):
        return None
    return None if Money.of(value, currency).is_whole_minor_units() else _VALUE


@dataclass(frozen=True, slots=True)
class _Rule:
    """The rule of one field: when it must or must not be there, and what its value may be."""

    path: str
    check: Check | None = None
    size: tuple[int, int] | None = None
    required: Condition = _never
    forbidden: Condition = _never
    relation: Relation | None = None

    def apply(self, ctx: _Context) -> list[FieldProblem]:
        leaves = _lookup(ctx.tree, self.path)
        present = [leaf for leaf in leaves if leaf is not None]
        missing = (len(leaves) - len(present) if leaves else 1) if self.required(ctx) else 0
        problems = [FieldProblem(_MISSING, self.path)] * missing
        if present and self.forbidden(ctx):
            return [*problems, FieldProblem(_VALUE, self.path)]
        kinds = (self.judge(value, ctx) for value in present)
        return problems + [FieldProblem(kind, self.path) for kind in kinds if kind is not None]

    def judge(self, value: object, ctx: _Context) -> ProblemKind | None:
        if not isinstance(value, str):
            return None
        if self.size is not None and not self.size[0] <= len(value) <= self.size[1]:
            return _LENGTH
        if self.check is not None and (kind := self.check(value)) is not None:
            return kind
        return None if self.relation is None else self.relation(value, ctx)


def _party_rules(party: str, people: frozenset[str]) -> tuple[_Rule, ...]:
    """Name rules by payment type: a person's names or an organization's, never both."""
    person, organization = _type_in(people), _type_in(PAYMENT_TYPES - people)
    at, has_address = f"{party}.", _has(f"{party}.address")
    return (
        _Rule(at + "first_name", _text, (1, 140), required=person, forbidden=organization),
        _Rule(at + "middle_name", _text, (1, 140), forbidden=organization),
        _Rule(at + "last_name", _text, (1, 140), required=person, forbidden=organization),
        _Rule(at + "organization_name", _text, (1, 140), required=organization, forbidden=person),
        _Rule(at + "nationality", _country, (3, 3)),
        _Rule(at + "address.line1", _text, (1, 500), required=has_address),
        _Rule(at + "address.line2", _text, (1, 500)),
        _Rule(at + "address.city", _text, (1, 35)),
        _Rule(at + "address.country_subdivision", _text, (2, 35)),
        _Rule(at + "address.postal_code", _text, (1, 16)),
        _Rule(at + "address.country", _country, (3, 3), required=has_address),
        _Rule(at + f"government_ids.{_URI}", _chain(_text, _government_id), (1, 200)),
        _Rule(at + "date_of_birth", _date),
    )


_without_proposal = _lacks("proposal_id")
_uri = _chain(_text, _account_uri)

_RULES: Final[tuple[_Rule, ...]] = (
    _Rule("transaction_reference", _reference, (1, 40), required=_always),
    _Rule("proposal_id", _text, (0, 30)),
    _Rule("local_date_time", _local_date_time, required=_recipient_is_pan),
    _Rule("sender_account_uri", _uri, (1, 200), required=_without_proposal),
    _Rule("recipient_account_uri", _uri, (1, 200), required=_without_proposal),
    _Rule("payment_amount", required=_without_proposal),
    _Rule(
        "payment_amount.amount",
        _amount,
        (1, 18),
        required=_has("payment_amount"),
        relation=_whole_minor_units,
    ),
    _Rule("payment_amount.currency", _currency, (3, 3), required=_has("payment_amount")),
    _Rule("payment_origination_country", _country, (3, 3), required=_without_proposal),
    _Rule("fx_type.forward.fees_included", _one_of(frozenset({"true", "false"}))),
    _Rule("fx_type.forward.receiver_currency", _currency, (3, 3), required=_forward_to_pan),
    _Rule("fx_type.reverse", forbidden=_has("fx_type.forward")),
    _Rule("fx_type.reverse.sender_currency", _currency, (3, 3), required=_reverse_alone),
    _Rule("receiving_bank_name", _text, (1, 140)),
    _Rule("receiving_bank_branch_name", _text, (1, 140)),
    _Rule("bank_code", _text, (1, 225)),
    _Rule("payment_type", _one_of(PAYMENT_TYPES), (3, 3), required=_without_proposal),
    _Rule("source_of_income", _text, (1, 35)),
    *_party_rules("sender", _PERSON_SENDER),
    *_party_rules("recipient", _PERSON_RECIPIENT),
    _Rule("recipient.phone", _text, (1, 30)),
    _Rule("recipient.email", _text, (5, 1000)),
    _Rule("purpose_of_payment", _one_of(PURPOSES_OF_PAYMENT), (1, 39)),
    _Rule("payment_file_identifier", _text, (1, 35)),
    _Rule("card_rate_id", _text, (1, 35), forbidden=_has("proposal_id")),
    _Rule("additional_data.data_field.name", _digits, (1, 5), required=_has("additional_data")),
    _Rule("additional_data.data_field.value", _text, (1, 1000), required=_has("additional_data")),
)
"""One rule per field of §2.2 (objects only where a rule is about the object itself)."""


# --- the parsed request -----------------------------------------------------------------------


class FxDirection(enum.StrEnum):
    """Which amount ``payment_amount`` fixes: the sender's (forward) or the recipient's."""

    FORWARD = "forward"
    REVERSE = "reverse"


@dataclass(frozen=True, slots=True)
class FxType:
    """The effective ``fx_type``; an absent one is forward with fees included (§2.2).

    ``fees_included`` is False for a reverse payment: the sender pays fees on top.
    """

    direction: FxDirection
    fees_included: bool
    receiver_currency: str | None = None
    sender_currency: str | None = None

    @property
    def reverse(self) -> bool:
        """True for a reverse payment (``payment_amount`` is what the recipient gets)."""
        return self.direction is FxDirection.REVERSE


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A valid ``paymentrequest``: typed accessors for the services, and the canonical ``wire``.

    ``wire`` is the request as an ordered plain dict: the fields of §2.2 in documented order,
    only those present, every leaf a string (``fees_included`` is ``"true"``/``"false"``),
    surrounding whitespace removed, no empty objects; ``payment_amount.amount`` at its
    currency's minor units (``"100"`` USD becomes ``"100.00"``); ``government_ids`` always as
    ``{"government_id_uri": [uri, ...]}`` and ``additional_data`` always as
    ``{"data_field": [{"name": ..., "value": ...}, ...]}``, both in the order sent. Two bodies
    that differ only in codec, layout, member order or one of those equivalent forms have equal
    ``wire`` and :meth:`fingerprint` (D7). ``parse_payment_request(r.wire).wire == r.wire``.
    Treat ``wire`` as read-only; it does not take part in ``hash()``.
    """

    transaction_reference: str
    proposal_id: str | None
    payment_type: str | None
    sender_account_uri: str | None
    recipient_account_uri: str | None
    payment_amount: Money | None
    payment_origination_country: str | None
    fx_type: FxType
    bank_code: str | None
    additional_data: tuple[tuple[str, str], ...]
    wire: dict[str, object] = field(hash=False, repr=False)

    @property
    def recipient_scheme(self) -> str | None:
        """Scheme of ``recipient_account_uri`` (tel, ewallet, ban, iban or pan), if any."""
        return _scheme(self.recipient_account_uri)

    @property
    def recipient_provider(self) -> str | None:
        """The ``sp=`` provider of an ``ewallet:`` recipient URI, else None (D3)."""
        if self.recipient_scheme != "ewallet" or self.recipient_account_uri is None:
            return None
        match = _ACCOUNT_URI_SYNTAX["ewallet"].fullmatch(self.recipient_account_uri)
        return None if match is None else match.group("provider")

    def additional_value(self, name: str) -> str | None:
        """The value of the first additional-data field called ``name`` (``"7260"``), if any."""
        return next((value for key, value in self.additional_data if key == name), None)

    def value(self, path: str) -> str | None:
        """The first string at a dotted ``wire`` path (``"sender.address.country"``), if any."""
        return _first_text(self.wire, path)

    def fingerprint(self) -> str:
        """SHA-256 hex of the canonical JSON of ``wire``: equal for the same payload (D7)."""
        canonical = json.dumps(self.wire, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_payment_request(body: object) -> PaymentRequest:
    """Parse the value found under the root ``paymentrequest`` into a :class:`PaymentRequest`.

    Raises:
        ValidationFailed: with every problem found, in field order (D8). A body that is
            absent is MISSING ``paymentrequest``; one that is not an object is FORMAT.
    """
    shaper = _Shaper()
    raw = shaper.mapping(body, ROOT)
    if raw is None:
        raise ValidationFailed(shaper.problems or [FieldProblem(_MISSING, ROOT)])
    tree = shaper.members(raw, _SCHEMA, "")
    ctx = _Context(tree)
    problems = shaper.problems + [
        problem
        for rule in _RULES
        if not _is_broken(rule.path, shaper.broken)
        for problem in rule.apply(ctx)
    ]
    if problems:
        raise ValidationFailed(sorted(problems, key=lambda p: _POSITION.get(p.source, -1)))
    return _build(tree)


def _is_broken(path: str, broken: set[str]) -> bool:
    return any(path == bad or path.startswith(bad + ".") for bad in broken)


def _build(tree: _Tree) -> PaymentRequest:
    amount = _money(tree)
    return PaymentRequest(
        transaction_reference=_first_text(tree, "transaction_reference") or "",
        proposal_id=_first_text(tree, "proposal_id"),
        payment_type=_first_text(tree, "payment_type"),
        sender_account_uri=_first_text(tree, "sender_account_uri"),
        recipient_account_uri=_first_text(tree, "recipient_account_uri"),
        payment_amount=amount,
        payment_origination_country=_first_text(tree, "payment_origination_country"),
        fx_type=_fx_type(tree),
        bank_code=_first_text(tree, "bank_code"),
        additional_data=tuple(
            (str(item["name"]), str(item["value"]))
            for item in _lookup(tree, f"additional_data.{_DATA_FIELD}")
            if isinstance(item, dict)
        ),
        wire=_wire(tree, amount),
    )


def _money(tree: _Tree) -> Money | None:
    amount = _first_text(tree, "payment_amount.amount")
    currency = _first_text(tree, "payment_amount.currency")
    if amount is None or currency is None:
        return None
    return Money.of(amount, currency).quantize()


def _fx_type(tree: _Tree) -> FxType:
    if _Context(tree).has("fx_type.reverse"):
        currency = _first_text(tree, "fx_type.reverse.sender_currency")
        return FxType(FxDirection.REVERSE, fees_included=False, sender_currency=currency)
    fees = _first_text(tree, "fx_type.forward.fees_included") != "false"
    currency = _first_text(tree, "fx_type.forward.receiver_currency")
    return FxType(FxDirection.FORWARD, fees_included=fees, receiver_currency=currency)


def _pruned(node: Mapping[str, object]) -> _Tree:
    """A deep copy without empty objects or lists."""
    out: _Tree = {}
    for name, value in node.items():
        if isinstance(value, Mapping):
            value = _pruned(value)
        elif isinstance(value, list):
            value = [_pruned(item) if isinstance(item, Mapping) else item for item in value]
        if value:
            out[name] = value
    return out


def _wire(tree: _Tree, amount: Money | None) -> _Tree:
    wire = _pruned(tree)
    if amount is not None:
        wire["payment_amount"] = {"amount": amount.to_wire(), "currency": amount.currency}
    return wire
