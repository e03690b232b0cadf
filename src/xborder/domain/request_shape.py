"""The canonical shape of a decoded ``paymentrequest`` body (docs/reference.md §2.2, D8).

``Shaper`` walks the body along ``SCHEMA`` (the fields of §2.2 in their documented order) and
builds the *canonical tree*: known members only, in schema order; text with its surrounding
XML whitespace (space, tab, CR, LF) removed; ``None`` and blank text dropped as absent;
``fees_included`` as ``"true"``/``"false"``; ``government_ids`` as
``{"government_id_uri": [uri, ...]}`` and ``additional_data`` as
``{"data_field": [{"name": ..., "value": ...}, ...]}`` whichever form they came in. A member
of the wrong kind (a list where one value belongs, text where an object belongs) is a FORMAT
problem. An empty object (``{}`` or ``""`` where an object belongs) is present but empty.

``lookup`` and ``first_text`` read a canonical tree (or a ``wire``) by dotted path.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final, TypeAlias

from xborder.domain.errors import FieldProblem, ProblemKind

__all__ = [
    "DATA_FIELD",
    "GOVERNMENT_ID_URI",
    "POSITION",
    "SCHEMA",
    "Shaper",
    "Tree",
    "first_text",
    "lookup",
]


class _Leaf(enum.Enum):
    TEXT = "text"  # one string
    FLAG = "flag"  # "true"/"false" or a bool
    IDS = "ids"  # government_ids in any of its forms
    DATA = "data"  # additional_data in any of its forms


_Schema: TypeAlias = Mapping[str, "_Leaf | _Schema"]
Tree: TypeAlias = dict[str, object]

GOVERNMENT_ID_URI: Final = "government_id_uri"
DATA_FIELD: Final = "data_field"
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


SCHEMA: Final[_Schema] = {
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
            yield f"{path}.{GOVERNMENT_ID_URI}"
        elif node is _Leaf.DATA:
            yield from (f"{path}.{DATA_FIELD}", f"{path}.{DATA_FIELD}.name")
            yield f"{path}.{DATA_FIELD}.value"
        elif isinstance(node, Mapping):
            yield from _field_paths(node, path)


POSITION: Final = MappingProxyType({p: i for i, p in enumerate(_field_paths(SCHEMA))})
"""The documented position of every field path: the sort key of problems."""

_Fields: TypeAlias = tuple[tuple[str, "_Leaf | _Schema", str, "_Fields | None"], ...]
"""A schema level made ready to walk: (name, node, path, the fields of an object node)."""


def _compile(schema: _Schema, parent: str) -> _Fields:
    return tuple(
        (name, node, path, None if isinstance(node, _Leaf) else _compile(node, path))
        for name, node in schema.items()
        for path in (_join(parent, name),)
    )


_FIELDS: Final = _compile(SCHEMA, "")


def _is_blank(raw: object) -> bool:
    return isinstance(raw, str) and not raw.strip(_XML_SPACE)


class Shaper:
    """Builds the canonical tree; records structural problems and the paths they broke."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []
        self.broken: set[str] = set()

    def fail(self, path: str) -> None:
        self.problems.append(FieldProblem(ProblemKind.FORMAT, path))
        self.broken.add(path)

    def mapping(self, raw: object, path: str) -> Mapping[str, object] | None:
        if type(raw) is dict:  # the common case, ahead of the checks it would pass
            return raw
        if raw is None:
            return None
        if _is_blank(raw):
            return {}
        if isinstance(raw, Mapping):
            return raw
        self.fail(path)
        return None

    def members(self, raw: Mapping[str, object], schema: _Schema, parent: str) -> Tree:
        fields = _FIELDS if schema is SCHEMA and not parent else _compile(schema, parent)
        return self._members(raw, fields)

    def _members(self, raw: Mapping[str, object], fields: _Fields) -> Tree:
        tree: Tree = {}
        get = raw.get
        for name, node, path, children in fields:
            value = get(name)
            if value is None:
                continue  # absent: no value and no problem, whatever the node
            if node is _Leaf.TEXT and type(value) is str:
                value = value.strip(_XML_SPACE) or None  # the common case of text()
            elif children is not None:
                found = self.mapping(value, path)
                value = None if found is None else self._members(found, children)
            else:
                value = self.member(value, node, path)
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

    def government_ids(self, raw: object, path: str) -> Tree | None:
        uris: list[str] = []
        for item in self.items(raw, path):
            values = item.get(GOVERNMENT_ID_URI)
            for value in values if isinstance(values, list) else [values]:
                uri = self.text(value, f"{path}.{GOVERNMENT_ID_URI}")
                uris.extend([uri] if uri else [])
        return {GOVERNMENT_ID_URI: uris} if uris else None

    def additional_data(self, raw: object, path: str) -> Tree | None:
        holder = self.mapping(raw, path)
        where = f"{path}.{DATA_FIELD}"
        items = self.items(holder.get(DATA_FIELD), where) if holder else []
        fields = [self.data_field(item, where) for item in items]
        return {DATA_FIELD: fields} if fields else None

    def data_field(self, item: Mapping[str, object], path: str) -> dict[str, str]:
        found = {key: self.text(item.get(key), f"{path}.{key}") for key in ("name", "value")}
        return {key: value for key, value in found.items() if value is not None}


_SPLIT: dict[str, tuple[str, ...]] = {}
_SPLIT_MAX: Final = 1024  # the paths in use are a few dozen constants; never grow without bound


def split_path(path: str) -> tuple[str, ...]:
    """The names of a dotted ``path`` (split once per distinct path)."""
    parts = _SPLIT.get(path)
    if parts is None:
        parts = tuple(path.split("."))
        if len(_SPLIT) < _SPLIT_MAX:
            _SPLIT[path] = parts
    return parts


def lookup(tree: Mapping[str, object], path: str) -> list[object]:
    """The values at ``path``, one per occurrence (``None`` where a present parent lacks it)."""
    return lookup_parts(tree, split_path(path))


def lookup_parts(tree: Mapping[str, object], parts: tuple[str, ...]) -> list[object]:
    """:func:`lookup` for a path already split into its names."""
    node: object = tree
    for depth, name in enumerate(parts):
        if not isinstance(node, dict):
            return []
        node = node.get(name)
        if isinstance(node, list):  # several occurrences from here on
            return _lookup_many(node, parts[depth + 1 :])
    return [node]


def _lookup_many(nodes: list[object], parts: tuple[str, ...]) -> list[object]:
    for name in parts:
        found: list[object] = []
        for node in nodes:
            if isinstance(node, dict):
                value = node.get(name)
                if isinstance(value, list):
                    found.extend(value)
                else:
                    found.append(value)
        nodes = found
    return list(nodes)


def first_text(tree: Mapping[str, object], path: str) -> str | None:
    """The first string at the dotted ``path`` of ``tree``, if any."""
    node: object = tree
    for name in split_path(path):
        if not isinstance(node, dict):
            return None
        node = node.get(name)
        if isinstance(node, list):
            return next((v for v in lookup(tree, path) if isinstance(v, str)), None)
    return node if isinstance(node, str) else None
