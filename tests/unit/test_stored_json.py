"""The stored JSON texts of a payment (its request document, its quote) are written by orjson
for speed (issue 12): the text is the one the standard library's encoder wrote, which every
earlier row holds, for all a request document holds (its codecs read numbers as text); a
float, which none holds, is written in another notation of the same value."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xborder.storage.payments import _REQUEST_JSON, _json_text


def _documents(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    values = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
    return st.dictionaries(st.text(), values)


@given(_documents(st.none() | st.booleans() | st.text() | st.integers()))
def test_the_text_is_the_standard_encoders(document: dict[str, Any]) -> None:
    text = _json_text(document, _REQUEST_JSON)
    assert text == json.dumps(document, separators=(",", ":"), ensure_ascii=False)


@given(_documents(st.floats(allow_nan=False, allow_infinity=False) | st.text()))
def test_a_float_reads_back_as_itself(document: dict[str, Any]) -> None:
    assert json.loads(_json_text(document, _REQUEST_JSON)) == document


def test_what_orjson_refuses_is_written_by_the_standard_encoder() -> None:
    for document in ({"big": 2**70}, {"lone": "\ud800"}, {1: "a non-string key"}):
        assert _json_text(document, _REQUEST_JSON) == _REQUEST_JSON.encode(document)
