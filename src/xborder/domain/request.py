"""Parse and validate the ``paymentrequest`` body of the Payment API (docs/reference.md §2.2, D8).

The input is the value under the root ``paymentrequest`` as a codec decoded it: objects are
mappings, values are strings (JSON numbers arrive as their literal text), JSON booleans are
``bool``, ``None`` means absent, an empty XML element is ``""`` and repeated XML elements are
lists. Both codecs therefore reach the same result. Parsing runs in three steps:

1. **Shape.** :class:`~xborder.domain.request_shape.Shaper` walks the body along ``SCHEMA``
   (the fields of §2.2 in their documented order) and builds the *canonical tree*: known
   members only, in schema order, text stripped, absent values dropped, the alternative
   forms of ``fees_included``, ``government_ids`` and ``additional_data`` made one. A member
   of the wrong kind is a FORMAT problem (:mod:`xborder.domain.request_shape`).
2. **Rules.** :data:`~xborder.domain.field_rules.RULES` is one table of field rules
   (presence, length, content), with cross-field conditions read from a ``Context``
   (:mod:`xborder.domain.field_rules`, value checks in :mod:`xborder.domain.field_checks`).
   Every problem is collected, one ``FieldProblem`` per problem, sorted into field order;
   then ``ValidationFailed`` is raised.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.domain.field_checks import (
    ACCOUNT_URI_SCHEMES,
    ACCOUNT_URI_SYNTAX,
    GOVERNMENT_ID_MAX_LENGTH,
    GOVERNMENT_ID_SCHEMES,
    uri_scheme,
)
from xborder.domain.field_rules import PAYMENT_TYPES, PURPOSES_OF_PAYMENT, RULES, Context
from xborder.domain.money import Money
from xborder.domain.request_shape import (
    DATA_FIELD,
    POSITION,
    SCHEMA,
    Shaper,
    Tree,
    first_text,
    lookup,
)

__all__ = [
    "ACCOUNT_URI_SCHEMES",
    "GOVERNMENT_ID_MAX_LENGTH",
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
        return uri_scheme(self.recipient_account_uri)

    @property
    def recipient_provider(self) -> str | None:
        """The ``sp=`` provider of an ``ewallet:`` recipient URI, else None (D3)."""
        if self.recipient_scheme != "ewallet" or self.recipient_account_uri is None:
            return None
        match = ACCOUNT_URI_SYNTAX["ewallet"].fullmatch(self.recipient_account_uri)
        return None if match is None else match.group("provider")

    def additional_value(self, name: str) -> str | None:
        """The value of the first additional-data field called ``name`` (``"7260"``), if any."""
        return next((value for key, value in self.additional_data if key == name), None)

    def value(self, path: str) -> str | None:
        """The first string at a dotted ``wire`` path (``"sender.address.country"``), if any."""
        return first_text(self.wire, path)

    def fingerprint(self) -> str:
        """SHA-256 hex of the canonical JSON of ``wire``: equal for the same payload (D7)."""
        canonical = _CANONICAL_JSON.encode(self.wire)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_CANONICAL_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""What ``json.dumps(wire, ensure_ascii=False, separators=(",", ":"))`` uses, built once."""


def parse_payment_request(body: object) -> PaymentRequest:
    """Parse the value found under the root ``paymentrequest`` into a :class:`PaymentRequest`.

    Raises:
        ValidationFailed: with every problem found, in field order (D8). A body that is
            absent is MISSING ``paymentrequest``; one that is not an object is FORMAT.
    """
    shaper = Shaper()
    raw = shaper.mapping(body, ROOT)
    if raw is None:
        raise ValidationFailed(shaper.problems or [FieldProblem(ProblemKind.MISSING, ROOT)])
    tree = shaper.members(raw, SCHEMA, "")
    ctx = Context(tree)
    problems = list(shaper.problems)
    broken = shaper.broken
    for rule in RULES:
        if not rule.idle(tree) and (not broken or not _is_broken(rule.path, broken)):
            problems.extend(rule.apply(ctx))
    if problems:
        raise ValidationFailed(sorted(problems, key=lambda p: POSITION.get(p.source, -1)))
    return _build(tree)


def _is_broken(path: str, broken: set[str]) -> bool:
    return any(path == bad or path.startswith(bad + ".") for bad in broken)


def _build(tree: Tree) -> PaymentRequest:
    amount = _money(tree)
    return PaymentRequest(
        transaction_reference=first_text(tree, "transaction_reference") or "",
        proposal_id=first_text(tree, "proposal_id"),
        payment_type=first_text(tree, "payment_type"),
        sender_account_uri=first_text(tree, "sender_account_uri"),
        recipient_account_uri=first_text(tree, "recipient_account_uri"),
        payment_amount=amount,
        payment_origination_country=first_text(tree, "payment_origination_country"),
        fx_type=_fx_type(tree),
        bank_code=first_text(tree, "bank_code"),
        additional_data=tuple(
            (str(item["name"]), str(item["value"]))
            for item in lookup(tree, f"additional_data.{DATA_FIELD}")
            if isinstance(item, dict)
        ),
        wire=_wire(tree, amount),
    )


def _money(tree: Tree) -> Money | None:
    amount = first_text(tree, "payment_amount.amount")
    currency = first_text(tree, "payment_amount.currency")
    if amount is None or currency is None:
        return None
    return Money.of(amount, currency).quantize()


def _fx_type(tree: Tree) -> FxType:
    if Context(tree).has("fx_type.reverse"):
        currency = first_text(tree, "fx_type.reverse.sender_currency")
        return FxType(FxDirection.REVERSE, fees_included=False, sender_currency=currency)
    fees = first_text(tree, "fx_type.forward.fees_included") != "false"
    currency = first_text(tree, "fx_type.forward.receiver_currency")
    return FxType(FxDirection.FORWARD, fees_included=fees, receiver_currency=currency)


def _pruned(node: Mapping[str, object]) -> Tree:
    """A deep copy without empty objects or lists."""
    out: Tree = {}
    for name, value in node.items():
        if type(value) is str:  # most values: nothing to look into
            pass
        elif isinstance(value, Mapping):
            value = _pruned(value)
        elif isinstance(value, list):
            value = [_pruned(item) if isinstance(item, Mapping) else item for item in value]
        if value:
            out[name] = value
    return out


def _wire(tree: Tree, amount: Money | None) -> Tree:
    wire = _pruned(tree)
    if amount is not None:
        wire["payment_amount"] = {"amount": amount.to_wire(), "currency": amount.currency}
    return wire
