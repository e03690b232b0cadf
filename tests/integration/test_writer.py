"""The writer: groups of units of work committed together, each unit in its own savepoint
(issue 12), against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.integration.test_repository import make_payment
from xborder.domain.states import PaymentStatus
from xborder.services.errors import DuplicateReference
from xborder.services.payments import UowFactory
from xborder.storage import writer as writer_module
from xborder.storage.engine import make_engine
from xborder.storage.migrate import upgrade
from xborder.storage.prepared import Prepared
from xborder.storage.transaction import Transaction
from xborder.storage.unit_of_work import NestedUowFactory, SqlAlchemyUowFactory
from xborder.storage.writer import GUARDED_GROUPS, GroupStats, Unit, Writer, run_group


class Refused(Exception):
    """What a unit raises to be rolled back alone."""


def _add(reference: str) -> Unit[str]:
    def unit(factory: UowFactory) -> str:
        payment = make_payment(reference)
        with factory() as uow:
            uow.payments.add(payment)
            uow.commit()
        return payment.id

    return unit


def _add_then_fail(reference: str) -> Unit[str]:
    def unit(factory: UowFactory) -> str:
        with factory() as uow:
            uow.payments.add(make_payment(reference))
            uow.commit()  # released into the unit's savepoint...
        raise Refused(reference)  # ...and rolled back with it

    return unit


def _stored(db: Engine, reference: str) -> bool:
    with SqlAlchemyUowFactory(db)(readonly=True) as uow:
        return uow.payments.get_by_reference("PARTNER", reference) is not None


def test_a_failing_unit_in_the_middle_of_a_group_rolls_back_alone(db: Engine) -> None:
    outcomes = run_group(db, [_add("A"), _add_then_fail("B"), _add("C")])
    assert outcomes[0].error is None and outcomes[2].error is None
    assert isinstance(outcomes[1].error, Refused)
    assert _stored(db, "A") and _stored(db, "C")
    assert not _stored(db, "B")


@pytest.fixture
def modes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each transaction the writer opens from now on has savepoints, in order."""
    opened: list[bool] = []

    class Recorded(Transaction):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self.savepoints)

    monkeypatch.setattr(writer_module, "Transaction", Recorded)
    return opened


def _read_then_refuse(reference: str) -> Unit[str]:
    def unit(factory: UowFactory) -> str:
        with factory() as uow:
            uow.payments.get_by_reference("PARTNER", reference)
        raise Refused(reference)

    return unit


def test_a_group_whose_units_succeed_runs_once_without_savepoints(
    db: Engine, modes: list[bool]
) -> None:
    outcomes = run_group(db, [_add("A"), _add("B")])
    assert [o.error for o in outcomes] == [None, None]
    assert modes == [False]
    assert _stored(db, "A") and _stored(db, "B")


@pytest.mark.parametrize(
    ("middle", "runs"),
    [(_read_then_refuse, [False]), (_add_then_fail, [False, True])],
    ids=["refused-before-a-change", "failed-after-a-change"],
)
def test_a_failing_unit_runs_its_group_again_only_if_it_changed_something(
    db: Engine, modes: list[bool], middle: Callable[[str], Unit[str]], runs: list[bool]
) -> None:
    outcomes = run_group(db, [_add("A"), middle("B"), _add("C")])
    assert isinstance(outcomes[1].error, Refused)
    assert outcomes[0].error is None and outcomes[2].error is None
    assert modes == runs  # without savepoints, then (only if needed) with them
    assert _stored(db, "A") and _stored(db, "C") and not _stored(db, "B")


def test_a_unit_whose_statement_failed_runs_its_group_again_with_savepoints(
    db: Engine, modes: list[bool]
) -> None:
    """A failed statement counts as a change: on PostgreSQL it aborts the transaction, so
    only a savepoint lets the others of the group go on."""
    missing = Prepared(sa.select(sa.table("no_such_table", sa.column("x")).c.x))

    def unit(factory: UowFactory) -> None:
        assert isinstance(factory, NestedUowFactory)
        factory.transaction.cursor.first(missing, {})

    outcomes = run_group(db, [_add("A"), unit, _add("C")])
    assert modes == [False, True]
    assert isinstance(outcomes[1].error, sa.exc.DBAPIError)
    assert _stored(db, "A") and _stored(db, "C")


def test_after_a_group_ran_again_the_next_groups_open_savepoints_from_the_start(
    db: Engine, modes: list[bool]
) -> None:
    stats = GroupStats()
    stats.timed(db, [_add_then_fail("X")])
    assert (stats.rerun, modes) == (1, [False, True])
    for i in range(GUARDED_GROUPS + 1):
        stats.timed(db, [_add(f"N{i}")])
    assert modes[2:] == [True] * GUARDED_GROUPS + [False]
    assert stats.rerun == 1 and stats.groups == GUARDED_GROUPS + 2


def test_a_group_without_savepoints_sends_none(tmp_path: Path) -> None:
    """Traced on SQLite: two units, their work and the group's COMMIT, nothing else."""
    engine = make_engine(f"sqlite:///{tmp_path / 'traced.db'}")
    upgrade(engine)
    sent: list[str] = []

    class Traced(Transaction):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.cursor._connection.set_trace_callback(sent.append)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(writer_module, "Transaction", Traced)
            run_group(engine, [_add("ONE"), _add("TWO")])
    finally:
        engine.dispose()
    assert [statement.split()[0] for statement in sent] == ["INSERT", "INSERT", "COMMIT"]


def test_a_unit_keeps_what_its_inner_unit_of_work_committed_before_a_refusal(
    db: Engine, modes: list[bool]
) -> None:
    """The request path returns a refusal as the unit's value: the nonce recorded first by
    the gate stays, the refused use case's writes do not."""

    def unit(factory: UowFactory) -> Exception:
        with factory() as uow:
            uow.nonces.record("key", "nonce-1", 1_700_000_000)
            uow.commit()
        with factory() as uow:
            uow.payments.add(make_payment("REFUSED"))
            return Refused("the use case refused")  # leaves without commit: rolled back

    outcome = run_group(db, [unit])[0]
    assert isinstance(outcome.value, Refused)
    assert modes == [False, True]  # only a savepoint undoes the use case and keeps the nonce
    assert not _stored(db, "REFUSED")
    with SqlAlchemyUowFactory(db)() as uow:
        assert not uow.nonces.record("key", "nonce-1", 1_700_000_000)  # it was kept


def test_two_units_of_one_group_racing_for_one_reference(db: Engine) -> None:
    outcomes = run_group(db, [_add("SAME"), _add("SAME")])
    assert outcomes[0].error is None
    assert isinstance(outcomes[1].error, DuplicateReference)  # in its own savepoint
    assert _stored(db, "SAME")


def test_when_the_commit_fails_every_unit_fails_and_nothing_stands(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_commit(self: Transaction) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Transaction, "commit", failing_commit)
    outcomes = run_group(db, [_add("P"), _add("Q")])
    monkeypatch.undo()
    assert [type(o.error) for o in outcomes] == [OSError, OSError]
    assert not _stored(db, "P") and not _stored(db, "Q")


def test_callers_are_answered_after_their_group_committed(db: Engine) -> None:
    writer = Writer(db)
    seen: list[bool] = []

    def unit(factory: UowFactory) -> str:
        with factory() as uow:
            uow.payments.add(make_payment("X"))
            uow.commit()
        return "done"

    async def submit() -> None:
        result = await writer.run(unit)
        seen.append(result == "done" and _stored_elsewhere(db, "X"))

    asyncio.run(submit())
    writer.close()
    assert seen == [True]


def _stored_elsewhere(db: Engine, reference: str) -> bool:
    """Read on another thread's connection: only committed work is visible there."""
    found: list[bool] = []
    thread = threading.Thread(target=lambda: found.append(_stored(db, reference)))
    thread.start()
    thread.join()
    return found[0]


def _group_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each group the writer runs from now on, in order."""
    groups: list[int] = []
    original = writer_module._run_group

    def counting(engine: Engine, units: list[Unit[object]], *, savepoints: bool) -> Any:
        groups.append(len(units))
        return original(engine, units, savepoints=savepoints)

    monkeypatch.setattr(writer_module, "_run_group", counting)
    return groups


def test_units_submitted_in_one_loop_iteration_share_one_group(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Writer(db)
    groups = _group_sizes(monkeypatch)

    async def submit_many() -> list[str]:
        return await asyncio.gather(*(writer.run(_add(f"G{i}")) for i in range(20)))

    ids = asyncio.run(submit_many())
    writer.close()
    assert len(set(ids)) == 20
    assert sum(groups) == 20
    if writer.inline:  # SQLite: all twenty were queued before the first group ran
        assert groups == [20]
    for i in range(20):
        assert _stored(db, f"G{i}")


def test_units_submitted_on_the_next_turn_of_the_loop_join_the_group(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = Writer(db, inline=True)
    groups = _group_sizes(monkeypatch)

    async def submit_on_two_turns() -> list[str]:
        first = asyncio.ensure_future(writer.run(_add("TURN1")))
        await asyncio.sleep(0)  # the first unit is queued and its group scheduled
        second = asyncio.ensure_future(writer.run(_add("TURN2")))  # runs on the next turn
        return list(await asyncio.gather(first, second))

    ids = asyncio.run(submit_on_two_turns())
    assert len(set(ids)) == 2
    assert groups == [2]
    assert _stored(db, "TURN1") and _stored(db, "TURN2")


class _Held:
    """A unit that keeps the writer's thread busy until released, so that what is submitted
    meanwhile forms the next group."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, factory: UowFactory) -> str:
        self.started.set()
        self.release.wait(10)
        return "held"

    async def running(self) -> None:
        while not self.started.is_set():
            await asyncio.sleep(0.001)


def test_a_threads_group_answers_its_callers_on_a_loop_with_one_wake_up(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One call into the loop per group, not one per unit (each costs the loop a wake-up)."""
    writer = Writer(db, inline=False)
    groups = _group_sizes(monkeypatch)
    calls: list[object] = []
    held = _Held()

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(callback)
            return original(callback, *args, **kwargs)

        monkeypatch.setattr(loop, "call_soon_threadsafe", counting)
        first = asyncio.ensure_future(writer.run(held))
        await held.running()
        rest = [asyncio.ensure_future(writer.run(_add(f"W{i}"))) for i in range(20)]
        await asyncio.sleep(0)  # all twenty queued behind the held unit
        held.release.set()
        return [await first, *await asyncio.gather(*rest)]

    answers = asyncio.run(main())
    writer.close()
    assert answers[0] == "held" and len(set(answers[1:])) == 20
    assert groups == [1, 20]
    assert len(calls) == 2


def test_a_unit_whose_caller_gave_up_before_its_group_never_runs(db: Engine) -> None:
    writer = Writer(db, inline=False)
    held = _Held()

    async def main() -> None:
        first = asyncio.ensure_future(writer.run(held))
        await held.running()
        gone = asyncio.ensure_future(writer.run(_add("GONE")))
        kept = asyncio.ensure_future(writer.run(_add("KEPT")))
        await asyncio.sleep(0)  # both queued behind the held unit
        gone.cancel()
        held.release.set()
        await first
        await kept
        with pytest.raises(asyncio.CancelledError):
            await gone

    asyncio.run(main())
    writer.close()
    assert _stored(db, "KEPT") and not _stored(db, "GONE")


def test_run_sync_from_another_thread_commits_through_the_same_writer(db: Engine) -> None:
    writer = Writer(db)
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(writer.run_sync(_add("T"))))
    thread.start()
    thread.join()
    writer.close()
    assert isinstance(result[0], str) and _stored(db, "T")


def test_run_threadsafe_joins_the_serving_loops_groups(db: Engine) -> None:
    """Issue 14: a background thread's unit (the journal's) runs in the loop's next group,
    beside the requests' units, never as a second holder of the write lock."""
    writer = Writer(db)
    threads: dict[str, int] = {}

    def tagged(reference: str) -> Unit[str]:
        def unit(factory: UowFactory) -> str:
            threads[reference] = threading.get_ident()
            return _add(reference)(factory)

        return unit

    async def serve() -> tuple[str, str]:
        await writer.run(tagged("LOOP-0"))  # the loop is now the writer's
        background = asyncio.to_thread(writer.run_threadsafe, tagged("BACKGROUND"))
        task = asyncio.ensure_future(background)
        while "BACKGROUND" not in threads:  # the request's unit comes while it waits
            await asyncio.sleep(0)
            if task.done():
                break
        request = await writer.run(tagged("LOOP-1"))
        return await task, request

    loop_thread: list[int] = []

    async def main() -> tuple[str, str]:
        loop_thread.append(threading.get_ident())
        return await serve()

    asyncio.run(main())
    writer.close()
    assert all(_stored(db, reference) for reference in ("LOOP-0", "BACKGROUND", "LOOP-1"))
    if writer.inline:  # SQLite: every unit ran on the loop's thread, in its groups
        assert set(threads.values()) == {loop_thread[0]}
    else:  # PostgreSQL: on the writer's own thread, as every group
        assert loop_thread[0] not in set(threads.values())


def test_run_threadsafe_without_a_serving_loop_runs_a_group_of_its_own(db: Engine) -> None:
    writer = Writer(db)
    assert isinstance(writer.run_threadsafe(_add("ALONE")), str)
    writer.close()
    assert _stored(db, "ALONE")


def test_run_threadsafe_refuses_the_loops_own_thread(db: Engine) -> None:
    writer = Writer(db)

    async def main() -> None:
        await writer.run(_add("FIRST"))
        with pytest.raises(RuntimeError, match="await run"):
            writer.run_threadsafe(_add("NEVER"))

    if not writer.inline:
        pytest.skip("PostgreSQL's writer thread serves any caller")
    asyncio.run(main())
    assert not _stored(db, "NEVER")


def test_a_cancel_in_a_group_beside_a_refused_cancel_commits(db: Engine) -> None:
    from xborder.clock import Instant
    from xborder.domain.errors import CancellationNotPermitted
    from xborder.services.payments import PaymentRules, cancel_payment

    with SqlAlchemyUowFactory(db)() as uow:
        uow.payments.add(make_payment("OK"))
        done = {"pending_stage": None, "pending_max_completion_date": None}
        uow.payments.add(make_payment("SETTLED", status=PaymentStatus.SUCCESS, **done))
        uow.commit()
    clock = Instant(make_payment().created)

    def cancel(reference: str) -> Unit[object]:
        def unit(factory: UowFactory) -> object:
            return cancel_payment("PARTNER", reference, uow_factory=factory, clock=clock,
                                  rules=PaymentRules())  # fmt: skip

        return unit

    outcomes = run_group(db, [cancel("SETTLED"), cancel("OK")])
    assert isinstance(outcomes[0].error, CancellationNotPermitted)
    assert outcomes[1].error is None
    with SqlAlchemyUowFactory(db)(readonly=True) as uow:
        ok = uow.payments.get_by_reference("PARTNER", "OK")
        settled = uow.payments.get_by_reference("PARTNER", "SETTLED")
    assert ok is not None and ok.status is PaymentStatus.CANCELLED
    assert settled is not None and settled.status is PaymentStatus.SUCCESS


class _Deadlock(Exception):
    sqlstate = "40P01"


def _deadlocking(prefix: str, times: int, runs: list[int]) -> Unit[str]:
    """A unit that adds a payment (``prefix`` and its run's number), then is aborted by a
    deadlock on its first ``times`` runs."""

    def unit(factory: UowFactory) -> str:
        runs.append(1)
        with factory() as uow:
            uow.payments.add(make_payment(f"{prefix}{len(runs)}"))
            uow.commit()
        if len(runs) <= times:
            raise _Deadlock("deadlock detected")
        return "done"

    return unit


def test_a_unit_aborted_by_a_deadlock_is_run_again(db: Engine) -> None:
    attempts: list[int] = []
    outcome = run_group(db, [_deadlocking("D", 2, attempts)])[0]
    assert outcome.value == "done" and len(attempts) == 3
    assert not _stored(db, "D1") and not _stored(db, "D2") and _stored(db, "D3")


def test_a_deadlock_in_a_group_without_savepoints_runs_only_its_unit_later(
    db: Engine, modes: list[bool]
) -> None:
    """The others of the group run again at once (with savepoints), without the unit whose
    locks were contended; that unit runs again in a later group, as after a savepoint's
    rollback: twice in all, not three times."""
    runs: list[int] = []
    outcomes = run_group(db, [_add("A"), _deadlocking("L", 1, runs), _add("C")])
    assert [o.error for o in outcomes] == [None, None, None] and outcomes[1].value == "done"
    assert len(runs) == 2 and modes == [False, True, True]
    assert _stored(db, "A") and _stored(db, "C") and _stored(db, "L2") and not _stored(db, "L1")


def test_a_unit_that_keeps_deadlocking_fails_in_the_end(db: Engine) -> None:
    def unit(factory: UowFactory) -> str:
        raise _Deadlock("deadlock detected")

    outcome = run_group(db, [unit])[0]
    assert isinstance(outcome.error, _Deadlock)
