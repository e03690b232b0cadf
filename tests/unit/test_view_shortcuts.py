"""The payment view's shortcuts (issue 12) answer exactly what the plain expressions did: a
Retrieve's document may not change by one character."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xborder.api.schemas import _omit_empty, timestamp

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False) | st.just(Decimal(0)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)
    | st.tuples(inner),
    max_leaves=6,
)  # fmt: skip


@given(st.dictionaries(st.text(max_size=5), json_values | st.sampled_from([None, "", {}, []])))
def test_omit_empty_drops_exactly_none_and_the_empty_string_object_and_list(
    view: dict[str, Any],
) -> None:
    assert _omit_empty(view) == {k: v for k, v in view.items() if v not in (None, "", {}, [])}


zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones),  # noqa: DTZ001
    st.booleans(),
)
def test_timestamp_is_the_aware_datetimes_own_text(value: datetime, millis: bool) -> None:
    spec = "milliseconds" if millis else "seconds"
    assert timestamp(value, millis=millis) == value.isoformat(timespec=spec)
