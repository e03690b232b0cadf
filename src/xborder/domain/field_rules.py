"""The rule table of the ``paymentrequest`` fields (docs/reference.md §2.2, D8).

``RULES`` holds one rule per field: when it must be present (MISSING when absent), when it
must not be (VALUE when present), its length range (LENGTH) and its value check (from
:mod:`xborder.domain.field_checks`). Cross-field conditions read a :class:`Context` over the
canonical tree. A value gets at most one problem: the first of length, characters, syntax,
list, relation to other fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from xborder.domain.errors import FieldProblem, ProblemKind
from xborder.domain.field_checks import (
    Check,
    account_uri,
    amount,
    chain,
    country,
    currency,
    digits,
    government_id,
    iso_date,
    local_date_time,
    one_of,
    reference,
    text,
    uri_scheme,
)
from xborder.domain.money import Money, is_currency
from xborder.domain.request_shape import (
    GOVERNMENT_ID_URI,
    first_text,
    lookup_parts,
    split_path,
)

__all__ = ["PAYMENT_TYPES", "PURPOSES_OF_PAYMENT", "RULES", "Condition", "Context", "Relation"]

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

_PERSON_SENDER: Final = frozenset({"P2P", "P2B"})
_PERSON_RECIPIENT: Final = frozenset({"P2P", "B2P", "G2P"})

_MISSING, _VALUE, _LENGTH = ProblemKind.MISSING, ProblemKind.VALUE, ProblemKind.LENGTH


@dataclass(frozen=True, slots=True)
class Context:
    """Cross-field facts the conditions of the rules read (each worked out once)."""

    tree: Mapping[str, object]
    _facts: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def has(self, path: str) -> bool:
        """True when some value is present at the dotted ``path``."""
        fact = self._facts.get(path)
        if fact is None:
            values = lookup_parts(self.tree, split_path(path))
            fact = self._facts[path] = any(value is not None for value in values)
        return fact

    @property
    def payment_type(self) -> str | None:
        """The ``payment_type`` when it is a documented one, else None."""
        value = first_text(self.tree, "payment_type")
        return value if value in PAYMENT_TYPES else None

    @property
    def recipient_scheme(self) -> str | None:
        """The scheme of ``recipient_account_uri``, if any."""
        return uri_scheme(first_text(self.tree, "recipient_account_uri"))


Condition: TypeAlias = Callable[[Context], bool]
Relation: TypeAlias = Callable[[str, Context], ProblemKind | None]


def _never(ctx: Context) -> bool:
    return False


def _always(ctx: Context) -> bool:
    return True


def _has(path: str) -> Condition:
    return lambda ctx: ctx.has(path)


def _lacks(path: str) -> Condition:
    return lambda ctx: not ctx.has(path)


def _type_in(types: frozenset[str]) -> Condition:
    return lambda ctx: ctx.payment_type in types


def _recipient_is_pan(ctx: Context) -> bool:
    return ctx.recipient_scheme == "pan"


def _forward_to_pan(ctx: Context) -> bool:
    return _recipient_is_pan(ctx) and not ctx.has("fx_type.reverse")


def _reverse_alone(ctx: Context) -> bool:
    return ctx.has("fx_type.reverse") and not ctx.has("fx_type.forward")


def _whole_minor_units(value: str, ctx: Context) -> ProblemKind | None:
    """More decimals than the currency's minor unit (``10.005 USD``) is VALUE."""
    code = first_text(ctx.tree, "payment_amount.currency")
    if code is None or not is_currency(code):
        return None
    return None if Money.of(value, code).is_whole_minor_units() else _VALUE


@dataclass(frozen=True, slots=True)
class _Rule:
    """The rule of one field: when it must or must not be there, and what its value may be."""

    path: str
    check: Check | None = None
    size: tuple[int, int] | None = None
    required: Condition = _never
    forbidden: Condition = _never
    relation: Relation | None = None
    parts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    optional: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", split_path(self.path))
        object.__setattr__(self, "optional", self.required is _never)

    def idle(self, tree: Mapping[str, object]) -> bool:
        """True when the rule has nothing to say: an optional field whose top member is absent
        (the tree holds no ``None``)."""
        return self.optional and self.parts[0] not in tree

    def apply(self, ctx: Context) -> list[FieldProblem]:
        node: object = ctx.tree
        for name in self.parts:  # the one value at the path, unless a list intervenes
            if not isinstance(node, dict):
                node = None
                break
            node = node.get(name)
            if isinstance(node, list):
                return self._apply_all(lookup_parts(ctx.tree, self.parts), ctx)
        if node is None:  # absent; conditions are pure, so one that cannot matter is not asked
            if self.optional or not self.required(ctx):
                return []
            return [FieldProblem(_MISSING, self.path)]
        if self.forbidden is not _never and self.forbidden(ctx):
            return [FieldProblem(_VALUE, self.path)]
        kind = self.judge(node, ctx)
        return [] if kind is None else [FieldProblem(kind, self.path)]

    def _apply_all(self, leaves: list[object], ctx: Context) -> list[FieldProblem]:
        present = [leaf for leaf in leaves if leaf is not None]
        missing = (len(leaves) - len(present) if leaves else 1) if self.required(ctx) else 0
        problems = [FieldProblem(_MISSING, self.path)] * missing
        if present and self.forbidden(ctx):
            return [*problems, FieldProblem(_VALUE, self.path)]
        kinds = (self.judge(value, ctx) for value in present)
        return problems + [FieldProblem(kind, self.path) for kind in kinds if kind is not None]

    def judge(self, value: object, ctx: Context) -> ProblemKind | None:
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
        _Rule(at + "first_name", text, (1, 140), required=person, forbidden=organization),
        _Rule(at + "middle_name", text, (1, 140), forbidden=organization),
        _Rule(at + "last_name", text, (1, 140), required=person, forbidden=organization),
        _Rule(at + "organization_name", text, (1, 140), required=organization, forbidden=person),
        _Rule(at + "nationality", country, (3, 3)),
        _Rule(at + "address.line1", text, (1, 500), required=has_address),
        _Rule(at + "address.line2", text, (1, 500)),
        _Rule(at + "address.city", text, (1, 35)),
        _Rule(at + "address.country_subdivision", text, (2, 35)),
        _Rule(at + "address.postal_code", text, (1, 16)),
        _Rule(at + "address.country", country, (3, 3), required=has_address),
        _Rule(at + f"government_ids.{GOVERNMENT_ID_URI}", chain(text, government_id), (1, 200)),
        _Rule(at + "date_of_birth", iso_date),
    )


_without_proposal = _lacks("proposal_id")
_uri = chain(text, account_uri)

RULES: Final[tuple[_Rule, ...]] = (
    _Rule("transaction_reference", reference, (1, 40), required=_always),
    _Rule("proposal_id", text, (0, 30)),
    _Rule("local_date_time", local_date_time, required=_recipient_is_pan),
    _Rule("sender_account_uri", _uri, (1, 200), required=_without_proposal),
    _Rule("recipient_account_uri", _uri, (1, 200), required=_without_proposal),
    _Rule("payment_amount", required=_without_proposal),
    _Rule(
        "payment_amount.amount",
        amount,
        (1, 18),
        required=_has("payment_amount"),
        relation=_whole_minor_units,
    ),
    _Rule("payment_amount.currency", currency, (3, 3), required=_has("payment_amount")),
    _Rule("payment_origination_country", country, (3, 3), required=_without_proposal),
    _Rule("fx_type.forward.fees_included", one_of(frozenset({"true", "false"}))),
    _Rule("fx_type.forward.receiver_currency", currency, (3, 3), required=_forward_to_pan),
    _Rule("fx_type.reverse", forbidden=_has("fx_type.forward")),
    _Rule("fx_type.reverse.sender_currency", currency, (3, 3), required=_reverse_alone),
    _Rule("receiving_bank_name", text, (1, 140)),
    _Rule("receiving_bank_branch_name", text, (1, 140)),
    _Rule("bank_code", text, (1, 225)),
    _Rule("payment_type", one_of(PAYMENT_TYPES), (3, 3), required=_without_proposal),
    _Rule("source_of_income", text, (1, 35)),
    *_party_rules("sender", _PERSON_SENDER),
    *_party_rules("recipient", _PERSON_RECIPIENT),
    _Rule("recipient.phone", text, (1, 30)),
    _Rule("recipient.email", text, (5, 1000)),
    _Rule("purpose_of_payment", one_of(PURPOSES_OF_PAYMENT), (1, 39)),
    _Rule("payment_file_identifier", text, (1, 35)),
    _Rule("card_rate_id", text, (1, 35), forbidden=_has("proposal_id")),
    _Rule("additional_data.data_field.name", digits, (1, 5), required=_has("additional_data")),
    _Rule("additional_data.data_field.value", text, (1, 1000), required=_has("additional_data")),
)
"""One rule per field of §2.2 (objects only where a rule is about the object itself)."""
