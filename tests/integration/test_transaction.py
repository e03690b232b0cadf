"""Transaction's savepoints (issue 12): named after their depth, ended innermost first."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.integration.test_repository import make_payment
from xborder.storage.transaction import Transaction
from xborder.storage.unit_of_work import NestedUowFactory


def test_savepoints_are_named_by_depth_and_undo_only_their_own_work(engine: Engine) -> None:
    transaction = Transaction(engine)
    factory = NestedUowFactory(engine, transaction)
    try:
        outer = transaction.savepoint()
        with factory() as uow:
            uow.payments.add(make_payment("KEPT"))
            uow.commit()
        inner = transaction.savepoint()
        assert (outer, inner) == ("xb1", "xb2")
        with factory() as uow:  # a third level, rolled back on leaving without commit
            uow.payments.add(make_payment("UNDONE"))
        transaction.rollback_to(inner)
        transaction.release(outer)
        assert transaction.savepoint() == "xb1"  # the next unit of a group reuses the name
        with factory(readonly=True) as uow:
            assert uow.payments.get_by_reference("PARTNER", "KEPT") is not None
            assert uow.payments.get_by_reference("PARTNER", "UNDONE") is None
    finally:
        transaction.close()


def test_a_savepoint_ended_out_of_order_is_refused(engine: Engine) -> None:
    transaction = Transaction(engine)
    try:
        outer = transaction.savepoint()
        transaction.savepoint()
        with pytest.raises(RuntimeError, match="out of order"):
            transaction.release(outer)
    finally:
        transaction.close()
