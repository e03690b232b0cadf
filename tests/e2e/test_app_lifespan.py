"""What the app does when it starts and stops serving (issues 12 and 14)."""

from __future__ import annotations

import gc

from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.payloads import path, payment_request
from xborder.api.app import GC_THRESHOLD, create_app
from xborder.config import Settings
from xborder.services.journal import list_requests
from xborder.services.journal_ports import JournalFilter
from xborder.storage.unit_of_work import SqlAlchemyUowFactory


def test_the_collector_looks_less_often_while_serving_and_as_before_after(
    settings: Settings, engine: Engine
) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(settings, engine=engine)):
        assert gc.get_threshold() == (GC_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def test_requests_answered_before_shutdown_are_in_the_journal_after_it(
    settings: Settings, engine: Engine
) -> None:
    """The journal's last rows are written while the app stops (its thread is stopped off
    the event loop, so on SQLite they still join the loop's writer)."""
    with TestClient(create_app(settings, engine=engine)) as client:
        created = client.post(path("/payment"), json={"paymentrequest": payment_request("BYE")})
        assert created.status_code == 200, created.text
    listed = list_requests(
        JournalFilter(), limit=10, before=None, uow_factory=SqlAlchemyUowFactory(engine)
    )
    assert [(e.operation, e.status) for e in listed] == [("create", 200)]
