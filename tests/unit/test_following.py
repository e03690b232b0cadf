"""A live feed's Follower (issue 14): rows read past are asked for again until they come or
their patience runs out."""

from __future__ import annotations

from xborder.services.following import MAX_GAPS, PATIENCE, Follower
from xborder.services.journal_ports import segment_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rows_in_order_leave_no_gap() -> None:
    follower = Follower(5, clock=Clock())
    follower.saw([6, 7, 8])
    assert (follower.last, follower.gaps()) == (8, [])
    follower.saw([3, 8])  # at or below the last: already read
    assert (follower.last, follower.gaps()) == (8, [])


def test_a_gap_is_awaited_until_filled() -> None:
    follower = Follower(5, clock=Clock())
    follower.saw([6, 9, 10])
    assert (follower.last, follower.gaps()) == (10, [7, 8])
    follower.saw([8])
    assert (follower.last, follower.gaps()) == (10, [7])
    follower.saw([7, 11])
    assert (follower.last, follower.gaps()) == (11, [])


def test_a_gap_is_given_up_after_its_patience() -> None:
    clock = Clock()
    follower = Follower(0, clock=clock)
    follower.saw([2])
    clock.now = PATIENCE - 0.1
    assert follower.gaps() == [1]
    clock.now = PATIENCE + 0.1
    assert follower.gaps() == []
    follower.saw([1])  # too late: below the last, not a gap any more
    assert (follower.last, follower.gaps()) == (2, [])


def test_keys_group_rows_the_journal_way() -> None:
    # an entry's id is its segment's number x 1000 + its place; the segments are dense
    follower = Follower(10_004, key=segment_of, clock=Clock())
    follower.saw([10_005, 10_006, 13_000, 13_001])
    assert (follower.last, follower.gaps()) == (13_001, [11, 12])
    follower.saw([12_000, 12_001])
    assert follower.gaps() == [11]


def test_a_far_jump_keeps_only_the_newest_gaps() -> None:
    follower = Follower(0, clock=Clock())
    follower.saw([10 * MAX_GAPS])
    gaps = follower.gaps()
    assert len(gaps) == MAX_GAPS and gaps[-1] == 10 * MAX_GAPS - 1
    follower.saw([10 * MAX_GAPS + 3])
    assert len(follower.gaps()) == MAX_GAPS and follower.gaps()[-1] == 10 * MAX_GAPS + 2
