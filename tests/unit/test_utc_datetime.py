"""UtcDateTime's own SQLite processors store and read exactly what SQLAlchemy's two-step path
(the decorator, then the dialect's ``DATETIME``) did: stored text is compared in SQL and read
by every earlier row, so not one character may change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from xborder.storage.tables import UtcDateTime

SQLITE = sqlite.dialect()
TYPE = UtcDateTime().dialect_impl(SQLITE)
BIND = TYPE.bind_processor(SQLITE)
RESULT = TYPE.result_processor(SQLITE, None)
# the path these replace: the decorator's step, then SQLite's DATETIME formatting or parsing
DIALECT_TYPE = sqlite.DATETIME()
DIALECT_BIND = DIALECT_TYPE.bind_processor(SQLITE)
DIALECT_RESULT = DIALECT_TYPE.result_processor(SQLITE, None)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware = st.datetimes(  # hypothesis takes naive bounds, and adds the zones itself
    min_value=datetime(2, 1, 1),  # noqa: DTZ001
    max_value=datetime(9998, 12, 31),  # noqa: DTZ001
    timezones=offsets,
)


def old_bind(value: datetime | None) -> str | None:
    return DIALECT_BIND(UtcDateTime().process_bind_param(value, SQLITE))  # type: ignore[misc]


def old_result(text: str | None) -> datetime | None:
    return UtcDateTime().process_result_value(DIALECT_RESULT(text), SQLITE)  # type: ignore[misc]


@given(aware)
def test_stored_text_is_the_dialects(value: datetime) -> None:
    assert BIND is not None and RESULT is not None
    text = BIND(value)
    assert text == old_bind(value)
    read = RESULT(text)
    assert read == old_result(text) == value
    assert read is not None and read.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 6, 23, 40, 0, tzinfo=UTC),  # microsecond 0: still six digits
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year below 1000: four digits
        datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))),  # another day in UTC
    ],
)
def test_edges_store_the_same_text(value: datetime) -> None:
    assert BIND is not None
    assert BIND(value) == old_bind(value)


def test_text_sorts_in_time_order() -> None:
    assert BIND is not None
    early = datetime(2026, 12, 6, 23, 59, 59, 999999, tzinfo=UTC)
    late = datetime(2026, 12, 7, 1, 0, tzinfo=timezone(timedelta(hours=1)))  # 00:00 UTC
    assert BIND(early) < BIND(late)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-06 23:40:00",
        "2026-12-06 23:40:00.5",
        "2026-12-06T23:40:00.000001",
        "2026-12-06 23:40:00.1+0530",  # the stored text's length, with an offset
    ],
)
def test_reads_text_written_by_others(text: str) -> None:
    """A default written by the database itself, or by hand, reads as the dialect read it."""
    assert RESULT is not None
    assert RESULT(text) == old_result(text)


def test_none_and_naive() -> None:
    assert BIND is not None and RESULT is not None
    assert BIND(None) is None and RESULT(None) is None
    with pytest.raises(ValueError, match="naive"):
        BIND(datetime(2026, 12, 6, 23, 40))  # noqa: DTZ001 - the refused case


def test_other_dialects_keep_the_decorators_path() -> None:
    dialect = postgresql.dialect()
    decorator = UtcDateTime()
    bind = decorator.dialect_impl(dialect).bind_processor(dialect)
    value = datetime(2026, 12, 7, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert bind is not None
    converted = bind(value)
    assert converted == value and converted.tzinfo is UTC
