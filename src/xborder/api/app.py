"""The ASGI application factory. Nothing happens at import time (STYLE habit 9)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from xborder.api.admin import unknown_path
from xborder.api.dispatch import XborderApp
from xborder.api.endpoint import XbsEndpoint
from xborder.api.gate import Gate
from xborder.api.metrics import Metrics
from xborder.api.oauth2 import oauth2_routes
from xborder.api.openapi_http import openapi_routes
from xborder.api.routes import Services
from xborder.api.security_gate import gate_for
from xborder.api.unsigned import WARNING, announce_unsigned_mode
from xborder.api.wiring import (
    admin_routes,
    clock_for,
    close_clock,
    console_routes,
    lifecycle_rules,
    metrics_routes,
    recorder_for,
    scheduler_for,
    sender_for,
)
from xborder.clock import Clock
from xborder.config import Settings
from xborder.domain.model import CancelPolicy
from xborder.logs import configure_logging
from xborder.services.payments import PaymentRules
from xborder.storage.checkpoint import AUTOCHECKPOINT_PAGES, WalCheckpointer
from xborder.storage.engine import is_sqlite_file, make_engine
from xborder.storage.reader import Reader
from xborder.storage.unit_of_work import SqlAlchemyUowFactory
from xborder.storage.writer import Writer

log = logging.getLogger("xborder")


def rules_from(settings: Settings) -> PaymentRules:
    """The payment rules a deployment's settings describe."""
    return PaymentRules(
        cancel_policy=CancelPolicy(settings.non_cancellable_providers),
        lifecycle=lifecycle_rules(settings),  # D16
    )


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    gate: Gate | None = None,
) -> XborderApp:
    """Build the xborder ASGI app.

    Args:
        settings: the deployment's settings.
        engine: a ready engine (tests share one); by default one is made from settings
            and disposed of at shutdown.
        clock: the time source; the wall clock by default.
        gate: authentication and payload encryption; by default the signed gate of D11/D12,
            which with ``settings.auth`` off also admits unsigned sandbox requests.
    """
    owned = engine is None
    engine = engine or _server_engine(settings)
    # SQLite: checkpoints off the request path, on the engine we made for it
    checkpointer = WalCheckpointer(engine) if owned and is_sqlite_file(engine) else None
    services = Services(
        uow_factory=SqlAlchemyUowFactory(engine),
        clock=clock or clock_for(settings, engine),  # D17
        rules=rules_from(settings),
    )
    writer = Writer(engine)
    reader = Reader(engine, threads=reader_threads(settings))
    metrics = Metrics(engine, lambda: recorder.dropped, writer.stats)
    recorder = recorder_for(settings, writer, [metrics.observe])  # issue 14: off the hot path
    endpoint = XbsEndpoint(
        services,
        gate or gate_for(settings, services.uow_factory),
        writer,
        reader,
        headers=() if settings.auth else ((b"warning", WARNING.encode("latin-1")),),
        observer=recorder.offer,
    )

    async def health(_request: Request) -> Response:
        try:
            await run_in_threadpool(_ping, engine)
        except sa.exc.SQLAlchemyError:
            log.warning("health check: database unreachable")
            return JSONResponse({"status": "DOWN"}, status_code=503)
        return JSONResponse({"status": "UP"})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        threads = [
            thread
            for thread in (
                recorder,
                checkpointer,
                scheduler_for(settings, services, writer),  # D17: one per process, lease-guarded
                sender_for(settings, services, writer),  # D14: one per process, claim-guarded
            )
            if thread is not None
        ]
        for thread in threads:
            thread.start()
        gc.collect()
        gc.freeze()  # what start-up built lives as long as the process: keep it out of GC passes
        # A request frees what it allocates by reference counting; the collector only looks
        # for cycles, which every 700 allocations (the default) was often enough to show in
        # the cost of a cancel (docs/performance.md).
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
        yield
        gc.set_threshold(*thresholds)
        for thread in reversed(threads):
            # Off the loop: a thread's last writes (the journal's) may join the loop's groups
            await asyncio.to_thread(thread.stop)
        writer.close()
        reader.close()
        if clock is None:
            close_clock(services.clock)  # the controllable clock's own pool
        if owned:
            engine.dispose()

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        *openapi_routes(settings),  # D21: /openapi.json and /docs, unauthenticated
        *admin_routes(settings, services, writer),  # D17
        *oauth2_routes(
            services.uow_factory, writer.run_threadsafe
        ),  # D23: the Balance API's authorization server
        *metrics_routes(settings, metrics),  # issue 14
        *console_routes(settings, services, writer, engine, metrics),  # issue 14: /console
    ]
    others = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: unknown_path})
    if not settings.auth:
        announce_unsigned_mode(others)
    app = XborderApp(endpoint, others, routes, access_log=settings.access_log)
    app.state.engine = engine
    app.state.services = services
    app.state.recorder = recorder
    app.state.metrics = metrics
    return app


GC_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (issue 12)."""


def _server_engine(settings: Settings) -> Engine:
    return make_engine(
        settings.effective_database_url,
        pool_size=settings.pool_size,
        synchronous=settings.sqlite_synchronous,
        autocheckpoint=AUTOCHECKPOINT_PAGES,  # WalCheckpointer's, below; a backstop only
    )


def reader_threads(settings: Settings) -> int:
    """Threads per worker process that run PostgreSQL reads (SQLite reads run on the event
    loop): the pool's connections but two, which the writer's thread and the background
    threads (scheduler, push sender, health) use. ``XBORDER_REQUEST_THREADS`` overrides."""
    if settings.request_threads is not None:
        return settings.request_threads
    return max(1, settings.pool_size - 2)


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def app_from_env() -> Any:
    """Entry point for the server's worker processes: settings come from ``XBORDER_*``."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
