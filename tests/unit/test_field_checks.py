"""The character rules of the field checks, against their definitions (docs/reference.md §9, D8)."""

from __future__ import annotations

import sys
import unicodedata

from xborder.domain.errors import ProblemKind
from xborder.domain.field_checks import reference, text
from xborder.domain.request_shape import first_text, lookup


def _refused_by_text(ch: str) -> bool:
    """§9 as first written: ``{ } | ~ \\``, categories Cc and Cs, U+FFFE and U+FFFF."""
    return ch in "{}|~\\" or unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"


def _refused_by_reference(ch: str) -> bool:
    return not " " <= ch <= "~" or ch in "{}|~\\,;"


def test_text_refuses_exactly_the_characters_of_its_definition() -> None:
    for code_point in range(sys.maxunicode + 1):
        ch = chr(code_point)
        expected = ProblemKind.FORMAT if _refused_by_text(ch) else None
        assert text(f"a{ch}b") is expected, hex(code_point)


def test_reference_refuses_exactly_the_characters_of_its_definition() -> None:
    for code_point in range(0x3000):
        ch = chr(code_point)
        expected = ProblemKind.FORMAT if _refused_by_reference(ch) else None
        assert reference(f"A{ch}1") is expected, hex(code_point)
    assert reference("\U0001f600") is ProblemKind.FORMAT


def test_lookup_and_first_text_through_lists_and_gaps() -> None:
    tree = {
        "a": {"b": [{"c": "1"}, {"d": "x"}, "loose", {"c": ["2", "3"]}]},
        "e": "text",
        "f": {},
    }
    assert lookup(tree, "a.b.c") == ["1", None, "2", "3"]
    assert lookup(tree, "a.b") == [{"c": "1"}, {"d": "x"}, "loose", {"c": ["2", "3"]}]
    assert lookup(tree, "e.x") == []
    assert lookup(tree, "f.x") == [None]
    assert lookup(tree, "g.x") == []
    assert lookup(tree, "g") == [None]
    assert first_text(tree, "a.b.c") == "1"
    assert first_text(tree, "a.b.d") == "x"
    assert first_text(tree, "e") == "text"
    assert first_text(tree, "f") is None
    assert first_text(tree, "e.x") is None
