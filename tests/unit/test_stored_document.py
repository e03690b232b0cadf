"""A payment's stored request document reads back as json wrote it, and answers ``get`` and
``in`` for absent keys without raising on the way (``_StoredDocument``)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xborder.storage.payments import _REQUEST_JSON, _request_json, _StoredDocument

scalars = (
    st.text()
    | st.integers()  # over 64 bits too (orjson would read them as floats)
    | st.floats()  # NaN and the infinities too: json writes them
    | st.booleans()
    | st.none()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
)
documents = st.dictionaries(st.text(), values, max_size=8)


def stored(document: dict[str, Any]) -> _StoredDocument:
    return _StoredDocument(_REQUEST_JSON.encode(document))


@given(documents)
def test_a_document_reads_back_as_json_reads_it(document: dict[str, Any]) -> None:
    text = _REQUEST_JSON.encode(document)
    read = _StoredDocument(text)
    # the same values of the same types: json writes them back to the same text (a float
    # read as an int, or NaN read as anything else, would not)
    assert _REQUEST_JSON.encode(dict(read)) == text
    assert dict(read).keys() == json.loads(text).keys()
    assert _request_json(read) == text  # written back as stored, unparsed


def test_numbers_beyond_strict_json_read_back() -> None:
    read = stored({"big": 2**70, "nan": float("nan"), "inf": float("-inf"), "ok": "1.00"})
    assert read["big"] == 2**70 and read["inf"] == float("-inf") and read["ok"] == "1.00"
    assert read["nan"] != read["nan"]


def test_get_and_in_answer_for_absent_keys_without_raising() -> None:
    read = stored({"proposal_id": "pr_1", "nothing": None})
    assert read.get("proposal_id") == "pr_1"
    assert read.get("absent") is None and read.get("absent", "x") == "x"
    assert read.get("nothing", "x") is None
    assert "nothing" in read and "absent" not in read
    assert len(read) == 2 and sorted(read) == ["nothing", "proposal_id"]
