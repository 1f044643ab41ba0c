"""RabbitMQ topology, confirmed publisher and the consumer loop (retry with back-off, dead letters) on kombu."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kombu
from kombu import Exchange, Queue
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError

from . import events, inbox, tracing
from .config import Settings
from .logging import event_id_var, request_id_var
from .metrics import EVENTS_HANDLED

log = logging.getLogger("guanjia.bus")

UNROUTED_QUEUE = "guanjia.unrouted"
UNROUTED_MAX_LENGTH = 100_000
ATTEMPT_HEADER = "x-guanjia-attempt"
ERROR_HEADER = "x-guanjia-error"


class PublishError(RuntimeError):
    """The broker did not confirm the message: it must be treated as not published."""


class RetryLater(Exception):
    """Raised by a handler when the event cannot be applied yet (it refers to something not seen yet)."""


class Poison(Exception):
    """Raised by a handler when the event can never be applied (bad payload): dead-letter it at once."""


def connect(settings: Settings) -> kombu.Connection:
    """A new connection; memory:// when embedded, py-amqp with confirms and heartbeats otherwise."""
    if settings.amqp_url.startswith("memory://"):
        return kombu.Connection(settings.amqp_url, transport_options={"polling_interval": 0.01})
    return kombu.Connection(
        settings.amqp_url,
        heartbeat=30,
        connect_timeout=5,
        transport_options={"confirm_publish": True, "max_retries": 0},
    )


def _names(settings: Settings) -> tuple[str, str, str]:
    prefix = settings.queue_prefix
    return settings.exchange, f"{settings.exchange}.unrouted-ae", f"{prefix}{UNROUTED_QUEUE}"


def events_exchange(settings: Settings) -> Exchange:
    exchange_name, ae_name, _ = _names(settings)
    return Exchange(exchange_name, type="topic", durable=True, arguments={"alternate-exchange": ae_name})


def declare_topology(channel, settings: Settings) -> Exchange:
    """The topic exchange and its alternate exchange feeding the bounded unrouted queue (idempotent)."""
    exchange_name, ae_name, unrouted_name = _names(settings)
    ae = Exchange(ae_name, type="fanout", durable=True, channel=channel)
    ae.declare()
    Queue(
        unrouted_name,
        exchange=ae,
        durable=True,
        channel=channel,
        queue_arguments={"x-max-length": UNROUTED_MAX_LENGTH, "x-overflow": "drop-head"},
    ).declare()
    exchange = events_exchange(settings)(channel)
    exchange.declare()
    return exchange


@dataclass
class ServiceQueues:
    main: Queue
    dead: Queue
    retries: list[Queue] = field(default_factory=list)


def service_queues(settings: Settings, event_types) -> ServiceQueues:
    """`<service>.events` bound to exactly `event_types`, its retry queues and `<service>.events.dead`."""
    exchange = events_exchange(settings)
    main_name = settings.queue_name("events")
    main = Queue(
        main_name,
        exchange=exchange,
        durable=True,
        bindings=[kombu.binding(exchange, routing_key=t) for t in sorted(event_types)],
    )
    dead = Queue(settings.queue_name("events.dead"), durable=True)
    retries = [
        # A message waits out the TTL here, then RabbitMQ dead-letters it back onto the main queue.
        Queue(
            f"{main_name}.retry.{delay}",
            durable=True,
            queue_arguments={
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": main_name,
            },
        )
        for delay in settings.retry_delays_ms
    ]
    return ServiceQueues(main=main, dead=dead, retries=retries)


def queue_depth(settings: Settings, queue_name: str) -> int | None:
    """Messages ready in `queue_name` (a passive declare: never creates it); None if absent or unreachable."""
    try:
        with connect(settings) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            _, count, _ = conn.channel().queue_declare(queue=queue_name, passive=True)
            return count
    except Exception:
        return None


def declare_service_queues(channel, settings: Settings, queues: ServiceQueues) -> None:
    declare_topology(channel, settings)
    for queue in [queues.main, queues.dead, *queues.retries]:
        queue(channel).declare()


class Publisher:
    """Publishes events to the topic exchange and waits for the broker's confirm. Use one per thread."""

    def __init__(self, settings: Settings, confirm_timeout: float = 10.0):
        self.settings = settings
        self.confirm_timeout = confirm_timeout
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._direct: kombu.Producer | None = None

    def _ensure(self, direct: bool) -> kombu.Producer:
        if self._producer is None:
            conn = connect(self.settings)
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            exchange = declare_topology(channel, self.settings)
            self._conn, self._producer = conn, kombu.Producer(channel, exchange=exchange)
            # kombu treats exchange="" as "use the default": a second producer targets the default exchange.
            self._direct = kombu.Producer(channel)
        return self._direct if direct else self._producer

    def publish(self, event: dict) -> None:
        body, properties = events.to_message(event)
        self.publish_raw(body, properties, routing_key=event["type"])

    def publish_raw(
        self, body: bytes, properties: dict, *, routing_key: str, direct: bool = False, headers: dict | None = None
    ) -> None:
        """Publish with confirm; any failure (nack, timeout, lost connection) raises PublishError.

        direct=True publishes through the default exchange straight to the queue named `routing_key`.
        """
        try:
            producer = self._ensure(direct)
            producer.publish(
                body,
                routing_key=routing_key,
                serializer=None,
                content_type=properties.get("content_type"),
                content_encoding=properties.get("content_encoding", "utf-8"),
                headers=headers or {},
                retry=False,
                confirm_timeout=self.confirm_timeout,
                **{k: v for k, v in properties.items() if k not in ("content_type", "content_encoding")},
            )
        except Exception as exc:
            self.reset()
            raise PublishError(f"not published: {exc!r}") from exc

    def reset(self) -> None:
        """Drop the connection after an error; the next publish reconnects."""
        conn, self._conn, self._producer, self._direct = self._conn, None, None, None
        if conn is not None:
            try:
                conn.release()
            except Exception:
                pass

    def close(self) -> None:
        self.reset()


Handler = Callable[[Any, Any, dict], None]


class EventConsumer:
    """Consumes `<service>.events`: parse, apply once (inbox), commit, then ack; retry, then dead-letter."""

    def __init__(
        self,
        settings: Settings,
        database,
        inbox_table,
        handlers: dict[str, Handler],
        context: Any = None,
        *,
        prefetch: int = 16,
    ):
        self.settings = settings
        self.database = database
        self.inbox_table = inbox_table
        self.handlers = handlers
        self.context = context
        self.prefetch = prefetch
        self.name = settings.service
        self.queues = service_queues(settings, handlers.keys())
        self.embedded = settings.amqp_url.startswith("memory://")
        self._publisher: Publisher | None = None
        self.ready = threading.Event()

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                self._consume(stop)
                backoff = 0.5
            except Exception as exc:  # lost connection, broker stopped: reconnect with back-off
                self.ready.clear()
                log.warning("consumer connection lost, reconnecting", extra={"consumer": self.name, "error": repr(exc)})
                if self._publisher:
                    self._publisher.reset()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        if self._publisher:
            self._publisher.close()

    def _consume(self, stop: threading.Event) -> None:
        with connect(self.settings) as conn:
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            declare_service_queues(channel, self.settings, self.queues)
            channel.basic_qos(0, self.prefetch, False)
            self._publisher = self._publisher or Publisher(self.settings)
            with kombu.Consumer(channel, queues=[self.queues.main], on_message=self._on_message, no_ack=False):
                self.ready.set()
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=1)
                    except TimeoutError:
                        conn.heartbeat_check()

    def declare(self) -> None:
        """Declare exchange and queues (so events published before the first consume are kept)."""
        with connect(self.settings) as conn:
            declare_service_queues(conn.channel(), self.settings, self.queues)

    # -- one message ------------------------------------------------------------------------------
    def _on_message(self, message) -> None:
        headers = dict(message.headers or {})
        try:
            event = events.from_message(message.body, message.content_type, headers)
            if event["type"] not in self.handlers:
                raise Poison(f"no handler for {event['type']}")
            outcome = self.handle(event)
            log.info(
                "event handled",
                extra={"event_id": event["id"], "event_type": event["type"], "consumer": self.name, "outcome": outcome},
            )
        except (events.InvalidEvent, Poison) as exc:
            outcome = "dead_lettered"
            self._dead_letter(message, headers, exc)
        except Exception as exc:
            outcome = self._retry_or_dead_letter(message, headers, exc)
        message.ack()
        EVENTS_HANDLED.labels(self.name, message.properties.get("type") or "unknown", outcome).inc()

    def handle(self, event: dict) -> str:
        """Apply `event` once: the handler's effect and the inbox row commit together."""
        handler = self.handlers[event["type"]]
        # Log lines and outgoing calls made while handling carry the request id that caused the event.
        token = request_id_var.set(event.get("correlationid"))
        event_token = event_id_var.set(event["id"])
        try:
            # Continue the trace of the request that caused the event (see guanjia.tracing).
            with tracing.span(
                f"handle {event['type']}", event.get("traceparent"), "consumer", {"event_id": event["id"]}
            ):
                return self._apply(handler, event)
        finally:
            event_id_var.reset(event_token)
            request_id_var.reset(token)

    def _apply(self, handler, event: dict) -> str:
        try:
            with self.database.transaction() as session:
                if inbox.seen(session, self.inbox_table, self.name, event["id"]):
                    return "duplicate"
                try:
                    handler(self.context, session, event)
                except ValidationError as exc:
                    raise Poison(f"invalid payload: {exc.messages}") from exc
                inbox.record(session, self.inbox_table, self.name, event)
        except IntegrityError:
            # Another consumer replica applied the same event concurrently.
            with self.database.transaction() as session:
                if inbox.seen(session, self.inbox_table, self.name, event["id"]):
                    return "duplicate"
            raise
        return "applied"

    def _retry_or_dead_letter(self, message, headers: dict, exc: Exception) -> str:
        attempt = int(headers.get(ATTEMPT_HEADER, 0))
        delays = self.settings.retry_delays_ms
        if attempt >= len(delays):
            self._dead_letter(message, headers, exc)
            return "dead_lettered"
        headers = {**headers, ATTEMPT_HEADER: attempt + 1, ERROR_HEADER: repr(exc)[:500]}
        log.warning(
            "event failed, will retry", extra={"consumer": self.name, "attempt": attempt + 1, "error": repr(exc)[:200]}
        )
        if self.embedded:
            # memory:// has no TTL dead-lettering: re-queue onto the main queue after the delay.
            timer = threading.Timer(
                delays[attempt] / 1000, self._republish, args=(message, headers, self.queues.main.name)
            )
            timer.daemon = True
            timer.start()
            return "retried"
        self._republish(message, headers, self.queues.retries[attempt].name)
        return "retried"

    def _dead_letter(self, message, headers: dict, exc: Exception) -> None:
        log.error(
            "event dead-lettered",
            extra={"consumer": self.name, "error": repr(exc)[:200], "message_id": message.properties.get("message_id")},
        )
        self._republish(message, {**headers, ERROR_HEADER: repr(exc)[:500]}, self.queues.dead.name)

    def _republish(self, message, headers: dict, queue_name: str) -> None:
        properties = {
            "content_type": message.content_type,
            "content_encoding": message.content_encoding or "utf-8",
            "delivery_mode": 2,
        }
        for key in ("message_id", "type", "timestamp"):
            if message.properties.get(key) is not None:
                properties[key] = message.properties[key]
        # Via the default exchange straight to the queue; confirmed before the original is acked.
        if isinstance(threading.current_thread(), threading.Timer):
            publisher = Publisher(self.settings)  # a retry timer thread: connections are per thread
            try:
                publisher.publish_raw(message.body, properties, routing_key=queue_name, direct=True, headers=headers)
            finally:
                publisher.close()
            return
        self._publisher.publish_raw(message.body, properties, routing_key=queue_name, direct=True, headers=headers)
