"""PostgreSQL pooled connections: checked before reuse when idle, not when just used."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xborder.storage.engine import ALIVE_BYPASS_SECONDS, make_engine
from xborder.storage.transaction import Transaction

pytestmark = pytest.mark.postgres


@pytest.fixture
def pooled(postgres_session_engine: Engine) -> Iterator[Engine]:
    engine = make_engine(postgres_session_engine.url.render_as_string(hide_password=False),
                         pool_size=1)  # fmt: skip
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    transaction = Transaction(engine)
    try:
        pid = transaction.connection().execute(sa.text("SELECT pg_backend_pid()"))
        return int(pid.scalar_one())
    finally:
        transaction.close()


def _terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_an_idle_connection_that_died_is_replaced_before_use(
    pooled: Engine, postgres_session_engine: Engine
) -> None:
    pid = _backend_pid(pooled)
    _terminate(postgres_session_engine, pid)
    time.sleep(ALIVE_BYPASS_SECONDS + 0.1)
    assert _backend_pid(pooled) != pid  # no error: the check found it dead


def test_a_connection_used_just_now_is_not_pinged_and_a_failure_discards_it(
    pooled: Engine, postgres_session_engine: Engine
) -> None:
    pid = _backend_pid(pooled)
    _terminate(postgres_session_engine, pid)
    with pytest.raises(sa.exc.DBAPIError):  # within the bypass window: fails once ...
        _backend_pid(pooled)
    assert _backend_pid(pooled) != pid  # ... and the pool connects anew
