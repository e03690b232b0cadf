"""Transaction's savepoints (issue 12): named after their depth, ended innermost first, sent
only when work follows them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.integration.test_repository import make_payment
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.transaction import Transaction
from xborder.storage.unit_of_work import NestedUowFactory, SqlAlchemyUowFactory


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


def _stored(engine: Engine, *references: str) -> set[str]:
    with SqlAlchemyUowFactory(engine)(readonly=True) as uow:
        return {r for r in references if uow.payments.get_by_reference("PARTNER", r)}


def _add(factory: NestedUowFactory, reference: str, *, commit: bool = True) -> None:
    with factory() as uow:
        uow.payments.add(make_payment(reference))
        if commit:
            uow.commit()


def test_a_savepoint_opened_on_its_holders_point_shares_it(engine: Engine) -> None:
    # Issue 12: a unit of work opened first thing in a writer's unit marks the same point;
    # rolling it back undoes its work and leaves the holder open, its work still to come
    transaction = Transaction(engine)
    factory = NestedUowFactory(engine, transaction)
    try:
        unit = transaction.savepoint()
        _add(factory, "UNDONE", commit=False)  # the use case's savepoint, rolled back
        _add(factory, "KEPT")
        transaction.release(unit)
        unit = transaction.savepoint()
        inner = transaction.savepoint()
        _add(factory, "ALSO-UNDONE")
        transaction.release(inner)
        transaction.rollback_to(unit)  # the whole unit: its shared inner point's work too
        transaction.commit()
    finally:
        transaction.close()
    assert _stored(engine, "UNDONE", "KEPT", "ALSO-UNDONE") == {"KEPT"}


def test_savepoints_with_nothing_done_inside_cost_nothing(engine: Engine) -> None:
    transaction = Transaction(engine)
    factory = NestedUowFactory(engine, transaction)
    try:
        for _ in range(3):  # opened and ended, kept or undone, with nothing done inside
            transaction.release(transaction.savepoint())
            transaction.rollback_to(transaction.savepoint())
        _add(factory, "AFTER")
        transaction.commit()
    finally:
        transaction.close()
    assert _stored(engine, "AFTER") == {"AFTER"}


def test_a_unit_of_a_group_sends_one_savepoint_around_its_work(tmp_path: Path) -> None:
    # On SQLite every statement the driver runs is traced: a writer's unit running one use
    # case sends SAVEPOINT, its work, RELEASE; the use case's own savepoint shares the point
    engine = make_engine(f"sqlite:///{tmp_path / 'traced.db'}")
    upgrade(engine)
    transaction = Transaction(engine)
    sent: list[str] = []
    transaction.cursor._connection.set_trace_callback(sent.append)
    factory = NestedUowFactory(engine, transaction)
    try:
        for reference in ("ONE", "TWO"):
            unit = transaction.savepoint()
            _add(factory, reference)
            transaction.release(unit)
        empty = transaction.savepoint()
        transaction.release(empty)
        transaction.commit()
    finally:
        transaction.close()
        engine.dispose()
    kinds = [s.split()[0] if not s.startswith("RELEASE") else "RELEASE" for s in sent]
    assert kinds == ["SAVEPOINT", "INSERT", "RELEASE", "SAVEPOINT", "INSERT", "COMMIT"]
