"""Moving the controllable clock forward (D17)."""

from __future__ import annotations

from datetime import timedelta

from xborder.domain.errors import FieldProblem, ProblemKind, ValidationFailed
from xborder.services.errors import ClockNotControllable
from xborder.services.payments import UowFactory

MAX_STEP = timedelta(days=3650)


def advance_clock(delta: timedelta, *, controllable: bool, uow_factory: UowFactory) -> None:
    """Move the shared clock forward by ``delta``.

    The clock shows the new time once the unit of work has committed: read it after (inside
    a writer's group, the commit comes after the unit).

    Raises:
        ClockNotControllable: the deployment uses the wall clock.
        ValidationFailed: ``delta`` is not positive or is absurdly large (field ``seconds``).
    """
    if not controllable:
        raise ClockNotControllable("set XBORDER_CLOCK=controllable to move the clock")
    if not timedelta(0) < delta <= MAX_STEP:
        raise ValidationFailed([FieldProblem(ProblemKind.VALUE, "seconds")])
    with uow_factory() as uow:
        uow.clock_offset.advance(delta)
        uow.commit()
