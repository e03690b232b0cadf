"""Wiring of the lifecycle's moving parts into the app (D14, D16, D17): the rules from
settings, the clock, the admin API mount, the scheduler thread and the push sender."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute, Mount, Route

from xborder.api.admin import PREFIX, AdminServices, admin_app, authorise, refusal
from xborder.api.console import console_mount
from xborder.api.exchange import Trace
from xborder.api.journal import EntryBuilder
from xborder.api.metrics import Metrics, metrics_endpoint
from xborder.api.routes import Services
from xborder.clock import Clock, SystemClock
from xborder.config import Settings
from xborder.domain.channels import Channel
from xborder.domain.lifecycle import DEFAULT_DELAYS, Delays, LifecycleRules
from xborder.errors import ConfigError
from xborder.services.journal import RequestRecorder, Retention
from xborder.services.scheduler import SchedulerThread
from xborder.services.webhook_sender import SenderPolicy, WebhookSender
from xborder.storage.clock import DatabaseClock
from xborder.storage.journal import pack as journal_segment
from xborder.storage.writer import Writer

log = logging.getLogger("xborder")


def lifecycle_rules(settings: Settings) -> LifecycleRules:
    """The lifecycle timing the settings describe (D16)."""
    delays = dict(DEFAULT_DELAYS)
    for name, (processing, settlement) in settings.lifecycle_delays.items():
        if name not in Channel.__members__:
            raise ConfigError(f"XBORDER_LIFECYCLE_DELAYS: unknown channel {name!r}")
        delays[Channel[name]] = Delays(timedelta(seconds=processing), timedelta(seconds=settlement))
    return LifecycleRules(timedelta(seconds=settings.max_queue_seconds), delays)


def clock_for(settings: Settings, engine: Engine) -> Clock:
    """The wall clock, or the controllable clock shared through the database (D17)."""
    if settings.clock == "controllable":
        return DatabaseClock(engine)
    return SystemClock()


def close_clock(clock: Clock) -> None:
    """Release what a clock holds (the controllable clock's connection pool)."""
    if isinstance(clock, DatabaseClock):
        clock.close()


def admin_routes(settings: Settings, services: Services, writer: Writer) -> list[BaseRoute]:
    """The admin API mount, or nothing when it is off (D17)."""
    if not settings.admin_enabled:
        return []
    if not settings.admin_token:
        log.warning("admin API enabled without XBORDER_ADMIN_TOKEN: every call will be refused")
    return [Mount(PREFIX, app=admin_app(admin_services(settings, services, writer)))]


def admin_services(settings: Settings, services: Services, writer: Writer) -> AdminServices:
    """What the admin API and the console run their use cases with; their writes go through
    the process's ``writer`` (issue 12)."""
    return AdminServices(
        services.uow_factory,
        services.clock,
        services.rules,
        settings.admin_token,
        clock_controllable=settings.clock == "controllable",
        write=writer.run_threadsafe,
    )


def console_routes(
    settings: Settings, services: Services, writer: Writer, engine: Engine, metrics: Metrics
) -> list[BaseRoute]:
    """The web console, wherever the admin API is (issue 14, D17); its home page shows the
    figures ``/metrics`` serves."""
    if not settings.admin_enabled:
        return []
    admin = admin_services(settings, services, writer)
    return [console_mount(admin, engine, metrics.figures)]


def scheduler_for(settings: Settings, services: Services, writer: Writer) -> SchedulerThread | None:
    """The scheduler thread of this process, or None when switched off; its steps go
    through the process's ``writer`` (issue 12)."""
    if not settings.scheduler:
        return None
    return SchedulerThread(
        uow_factory=services.uow_factory,
        clock=services.clock,
        rules=services.rules,
        interval=settings.scheduler_interval,
        write=writer.run_threadsafe,
    )


def sender_for(settings: Settings, services: Services, writer: Writer) -> WebhookSender | None:
    """The status-change push sender of this process (D14), or None when switched off; its
    bookkeeping goes through the process's ``writer`` (issue 12)."""
    if not settings.webhooks:
        return None
    policy = SenderPolicy(timeout=settings.webhook_timeout, backoff=settings.webhook_backoff)
    return WebhookSender(
        uow_factory=services.uow_factory,
        policy=policy,
        interval=settings.webhook_interval,
        write=writer.run_threadsafe,
    )


def recorder_for(
    settings: Settings,
    writer: Writer,
    listeners: Sequence[Callable[[Trace], None]] = (),
) -> RequestRecorder[Trace]:
    """The request journal's ring and thread (issue 14), writing through the process's
    ``writer``; with ``XBORDER_JOURNAL=off`` it still feeds ``listeners`` (the metrics) but
    builds and stores nothing."""
    retention = Retention(
        enabled=settings.journal,
        max_rows=settings.journal_max_rows,
        max_age=timedelta(seconds=settings.journal_max_age),
    )
    return RequestRecorder(
        EntryBuilder(secrets=[settings.admin_token or ""]),
        pack=journal_segment,
        write=writer.run_threadsafe,
        retention=retention,
        listeners=listeners,
    )


def metrics_routes(settings: Settings, metrics: Metrics) -> list[BaseRoute]:
    """``GET /metrics`` where the admin API is on, behind its token (issue 14)."""
    if not settings.admin_enabled:
        return []
    token = settings.admin_token
    endpoint = metrics_endpoint(metrics, lambda request: authorise(request, token), refusal)
    return [Route("/metrics", endpoint, methods=["GET"])]
