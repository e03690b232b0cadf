"""Event refs are UUIDs version 7: unique, and ordered by the millisecond they were made in."""

from __future__ import annotations

import time
import uuid

import pytest

from xborder.storage.payments import event_ref


def test_an_event_ref_is_a_version_7_uuid_of_the_rfc_variant() -> None:
    ref = event_ref()
    parsed = uuid.UUID(ref)
    assert str(parsed) == ref  # the canonical lower-case form, 36 characters
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize("random", [bytes(10), b"\xff" * 10, bytes(range(10)), b"\x00\x01" * 5])
@pytest.mark.parametrize("nanos", [0, 1_000_000, 1_796_600_000_123_456_789])
def test_an_event_ref_is_written_as_the_uuid_module_writes_it(
    monkeypatch: pytest.MonkeyPatch, random: bytes, nanos: int
) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: nanos)
    monkeypatch.setattr("os.urandom", lambda n: random[:n])
    ref = event_ref()
    assert ref == str(uuid.UUID(ref))  # zero-padded, lower case, dashes in place
    assert uuid.UUID(ref).int >> 80 == nanos // 1_000_000


def test_an_event_ref_starts_with_the_milliseconds_it_was_made_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_796_600_000_123_456_789)
    assert uuid.UUID(event_ref()).int >> 80 == 1_796_600_000_123


def test_event_refs_made_in_later_milliseconds_sort_after_earlier_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    for millis in (1_796_600_000_000, 1_796_600_000_001, 1_796_600_001_000):
        monkeypatch.setattr(time, "time_ns", lambda m=millis: m * 1_000_000)
        made.extend(event_ref() for _ in range(50))
    assert max(made[:50]) < min(made[50:100]) < max(made[50:100]) < min(made[100:])


def test_event_refs_made_in_one_millisecond_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_796_600_000_000_000_000)
    refs = {event_ref() for _ in range(10_000)}
    assert len(refs) == 10_000
