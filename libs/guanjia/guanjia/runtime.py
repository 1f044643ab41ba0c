"""Background work of one service: its outbox relay and its event consumer, as threads."""

from __future__ import annotations

import logging
import threading

from . import bus
from .db import Database, ensure_postgres_database, upgrade
from .jobs import JobRecorder
from .outbox import OutboxRelay
from .service import ServiceSpec

log = logging.getLogger("guanjia.runtime")


def migrate(spec: ServiceSpec, settings) -> None:
    """Create the database if needed, run its migrations, declare its exchange and queues."""
    ensure_postgres_database(settings.database_url)
    upgrade(settings.database_url, spec.migrations_dir)
    if not spec.uses_bus:
        return
    if spec.handlers:
        declare_queues(spec, settings)
    else:
        with bus.connect(settings) as conn:
            bus.declare_topology(conn.channel(), settings)
    if spec.routine_events and not settings.embedded:
        with bus.connect(settings) as conn:
            bus.bind_routine(conn.channel(), settings, spec.routine_events)


def declare_queues(spec: ServiceSpec, settings) -> None:
    with bus.connect(settings) as conn:
        bus.declare_service_queues(conn.channel(), settings, bus.service_queues(settings, spec.handlers.keys()))


class Worker:
    """The relay and the consumer of one service. start() returns once the consumer is listening."""

    def __init__(self, spec: ServiceSpec, settings, upstreams: dict | None = None, *, relays: int = 1):
        self.spec = spec
        self.settings = settings
        self.database = Database(settings.database_url, pool_size=4)
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.consumer = None
        context = spec.make_context(settings, upstreams or {}) if spec.make_context else None
        self.context = context
        self.jobs = JobRecorder(spec.name, self.database)
        if spec.handlers:
            self.consumer = bus.EventConsumer(settings, self.database, spec.inbox, spec.handlers, context)
        self.relays = [
            OutboxRelay(
                self.database,
                spec.outbox,
                bus.Publisher(settings),
                poll_seconds=settings.relay_poll_seconds,
                max_attempts=settings.outbox_max_attempts,
            )
            for _ in range(relays if spec.outbox is not None else 0)
        ]

    def start(self, wait_ready: float = 10.0) -> Worker:
        if self.consumer:
            self._spawn(f"{self.spec.name}-consumer", self.consumer.run)
            if not self.consumer.ready.wait(wait_ready):
                log.warning(
                    "consumer not ready yet (broker down?); it keeps retrying", extra={"consumer": self.spec.name}
                )
        for i, relay in enumerate(self.relays):
            self._spawn(f"{self.spec.name}-relay-{i}", relay.run)
        for name, every_seconds, job in self.spec.periodic:
            self._spawn(f"{self.spec.name}-{name}", self._periodic(name, every_seconds, job))
        return self

    def _periodic(self, name: str, every_seconds: float, job):
        def loop(stop: threading.Event) -> None:
            while not stop.wait(every_seconds):
                # Outcome and time on /metrics and in `guanjia jobs list`; a failure is logged and retried next time.
                self.jobs.run(name, job, self.context)

        return loop

    def run_job(self, name: str):
        """Run one periodic job now, recorded like a scheduled run (`guanjia jobs run`)."""
        for job_name, _every, job in self.spec.periodic:
            if job_name == name:
                return self.jobs.run(name, job, self.context)
        raise KeyError(name)

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, args=(self.stop_event,), name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)
        self.database.dispose()
