"""Prometheus metrics: process counters that add up across gunicorn workers, and gauges read at scrape time.

Counters and histograms (HTTP requests, events handled, events published, SMS) live in the process that counts
them. Under gunicorn several worker processes answer /metrics in turn, so with PROMETHEUS_MULTIPROC_DIR set
each process writes its samples to files there and a scrape merges them all (prometheus_client's multiprocess
mode); guanjia.gunicorn_hooks clears the directory at start and retires a dead worker's files.

State that lives outside the process — the outbox backlog in the service's database, the depth of its queues
on the broker — is read when Prometheus scrapes, by whichever process answers, so it is right however many
processes there are.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("guanjia.metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Queue depths are read over a new broker connection: at most once per this many seconds per process.
BROKER_STATE_CACHE_SECONDS = 5.0

# Created once per process at import: several apps share one process in embedded mode.
HTTP_REQUESTS = Counter("guanjia_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("guanjia_http_request_seconds", "HTTP request latency", ["service", "method", "route"])
# By type: SMS outcomes (notification.sent / .failed), SLA breaches (ticket.sla_breached), reminders (fee.overdue).
EVENTS_PUBLISHED = Counter(
    "guanjia_events_published_total", "Events published by the outbox relay", ["service", "event_type"]
)
EVENTS_HANDLED = Counter(
    "guanjia_events_handled_total",
    "Events taken off the service queue, by outcome (applied, duplicate, retried, dead_lettered)",
    ["service", "event_type", "outcome"],
)
SMS = Counter(
    "guanjia_sms_total", "SMS messages by provider outcome (sent, delivered, failed)", ["service", "provider", "status"]
)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def sms(service: str, provider: str, status: str) -> None:
    """Count one SMS outcome at the provider call (the notifications service calls this)."""
    SMS.labels(service, provider, status).inc()


# Business gauges a service reads from its own database at scrape time: {service: [fn(database) -> samples]}.
# Each sample is (metric name, help, {label: value}, value); billing registers the collection rate here.
_state_readers: dict[str, dict] = {}


def register_state(service: str, reader, key: str | None = None) -> None:
    """Add a scrape-time reader of `service`'s own database. A reader with the same key (by default its qualified
    name) replaces the earlier one, so building an app twice does not double its samples."""
    readers = _state_readers.setdefault(service, {})
    readers[key or getattr(reader, "__qualname__", repr(reader))] = reader


# -- scrape-time state -------------------------------------------------------------------------------


class _Cached:
    """Run an expensive reading at most every `ttl` seconds (a scrape must not hammer the broker)."""

    def __init__(self, fn, ttl: float = 5.0):
        self.fn, self.ttl = fn, ttl
        self.value, self.at = None, 0.0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            if self.value is None or time.monotonic() - self.at > self.ttl:
                self.value, self.at = self.fn(), time.monotonic()
            return self.value


class ServiceStateCollector:
    """Outbox backlog, oldest unpublished age, consumer queue depth and dead letters of one service."""

    def __init__(self, settings, database=None):
        self.settings = settings
        self.database = database
        self._queues = _Cached(self._read_queues, BROKER_STATE_CACHE_SECONDS)

    def _read_outbox(self) -> tuple[int, float, int] | None:
        if self.database is None:
            return None
        from sqlalchemy import inspect, text

        try:
            if not inspect(self.database.engine).has_table("outbox"):
                return None
            with self.database.engine.connect() as conn:
                # Rows set aside after their last attempt (dead) are counted apart: they wait for an operator.
                count, oldest, dead = conn.execute(
                    text(
                        "SELECT count(*) - coalesce(sum(CASE WHEN attempts >= :max THEN 1 ELSE 0 END), 0),"
                        " min(CASE WHEN attempts < :max THEN created_at END),"
                        " coalesce(sum(CASE WHEN attempts >= :max THEN 1 ELSE 0 END), 0)"
                        " FROM outbox WHERE published_at IS NULL"
                    ),
                    {"max": self.settings.outbox_max_attempts},
                ).one()
        except Exception as exc:
            log.warning("outbox backlog not readable", extra={"error": repr(exc)[:200]})
            return None
        return count, _age_seconds(oldest), dead

    def _read_queues(self) -> dict[str, int | None]:
        from . import bus

        depths: dict[str, int | None] = {}
        if self.settings.embedded:
            return depths
        for kind, suffix in (("events", "events"), ("dead", "events.dead")):
            depths[kind] = bus.queue_depth(self.settings, self.settings.queue_name(suffix))
        return depths

    def collect(self):
        service = self.settings.service
        outbox = self._read_outbox()  # one indexed query on the partial index of unpublished rows
        if outbox is not None:
            backlog = GaugeMetricFamily(
                "guanjia_outbox_backlog", "Outbox rows not yet published to the broker", labels=["service"]
            )
            backlog.add_metric([service], outbox[0])
            yield backlog
            oldest = GaugeMetricFamily(
                "guanjia_outbox_oldest_unpublished_seconds",
                "Age of the oldest unpublished outbox row (0 when none waits)",
                labels=["service"],
            )
            oldest.add_metric([service], outbox[1])
            yield oldest
            dead_rows = GaugeMetricFamily(
                "guanjia_outbox_dead_rows",
                "Outbox rows set aside after failed publishes (see `guanjia outbox dead`)",
                labels=["service"],
            )
            dead_rows.add_metric([service], outbox[2])
            yield dead_rows
        yield from self._business()
        depths = self._queues()
        if depths.get("events") is not None:
            lag = GaugeMetricFamily(
                "guanjia_consumer_lag_messages",
                "Messages waiting in the service's event queue (not yet handled)",
                labels=["service", "queue"],
            )
            lag.add_metric([service, self.settings.queue_name("events")], depths["events"])
            yield lag
        if depths.get("dead") is not None:
            dead = GaugeMetricFamily(
                "guanjia_dead_letters", "Messages in the service's dead-letter queue", labels=["service", "queue"]
            )
            dead.add_metric([service, self.settings.queue_name("events.dead")], depths["dead"])
            yield dead

    def _business(self):
        families: dict[str, GaugeMetricFamily] = {}
        for reader in list(_state_readers.get(self.settings.service, {}).values()):
            try:
                samples = list(reader(self.database))
            except Exception as exc:
                log.warning(
                    "state reader failed", extra={"reader": getattr(reader, "__name__", "?"), "error": repr(exc)}
                )
                continue
            for name, help_, labels, value in samples:
                family = families.get(name)
                if family is None:
                    family = families[name] = GaugeMetricFamily(name, help_, labels=["service", *labels])
                family.add_metric([self.settings.service, *labels.values()], value)
        yield from families.values()


def _age_seconds(oldest) -> float:
    from datetime import UTC, datetime

    if oldest is None:
        return 0.0
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


def exposition(state: ServiceStateCollector | None = None) -> tuple[bytes, str]:
    """The /metrics body: this process's (or, in multiprocess mode, every worker's) samples plus live state."""
    from prometheus_client import REGISTRY

    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    elif state is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    if state is not None:
        registry.register(state)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    """Expose the default registry's metrics inside another registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


def serve(port: int, settings, database=None, addr: str = "0.0.0.0"):
    """Serve /metrics of a worker process (relay, consumer, SMS counters and the service's state) on `port`."""
    from prometheus_client import REGISTRY, start_http_server

    registry = CollectorRegistry()
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(ServiceStateCollector(settings, database))
    # wsgiref would announce `WSGIServer/0.2 CPython/3.11.x`; this process serves nothing else over wsgiref.
    import wsgiref.simple_server

    wsgiref.simple_server.ServerHandler.server_software = "guanjia"
    return start_http_server(port, addr=addr, registry=registry)
