"""RabbitMQ topology, confirmed publisher and the consumer loop (retry with back-off, dead letters) on kombu."""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
    """The broker did not confirm the message: it must be treated as not published.

    From publish_batch, `confirmed` holds the ids the broker did confirm before the failure."""

    def __init__(self, message: str, confirmed: list | None = None):
        super().__init__(message)
        self.confirmed = confirmed or []


class RetryLater(Exception):
    """Raised by a handler when the event cannot be applied yet (it refers to something not seen yet)."""


class Poison(Exception):
    """Raised by a handler when the event can never be applied (bad payload): dead-letter it at once."""


class Unavailable(Exception):
    """Raised by a handler when a dependency (its database, a service it calls) cannot be reached.

    Nothing is wrong with the event: it goes back to the queue without spending its retry budget, and the
    consumer pauses (back-off, no limit) until the dependency answers again."""


class _Redo(Exception):
    """A batch applied without savepoints failed: it is rolled back and applied again with them. `item`: the event
    whose handler raised `error` (its failure is kept, the handler not called again), or None (a `Batched` apply)."""

    def __init__(self, item: _Delivered | None = None, error: Exception | None = None):
        super().__init__()
        self.item, self.error = item, error


class _Paused(Exception):
    """The consumer stops consuming for a while: a dependency is down (the message was requeued)."""


def is_outage(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says a database, a broker or a called service is unreachable."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from .errors import UpstreamUnavailable

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, UpstreamUnavailable):
            # An answer in the 4xx range (other than 404, which callers handle) is about the request, not an outage.
            status = exc.extra.get("upstream_status")
            return status is None or status >= 500 or status == 429
        if isinstance(exc, Unavailable | OperationalError | InterfaceError | PoolTimeout):
            return True
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if exc.__class__.__module__.startswith("psycopg") and exc.__class__.__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return True
        if isinstance(exc, ConnectionError | TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def jittered(delay: float) -> float:
    """`delay` spread over [delay/2, delay]: after a broker restart the processes of a city do not reconnect
    in lock-step."""
    return delay / 2 + random.random() * delay / 2


def _attempt(headers: dict, retries: int) -> int:
    """The retry count carried in the message; anything else than a small whole number makes it poison."""
    value = headers.get(ATTEMPT_HEADER, 0)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= retries:
        raise Poison(f"bad {ATTEMPT_HEADER} header: {str(value)[:40]!r}")
    return value


def _safe_headers(headers: dict) -> dict:
    """Headers fit to publish again: plain values kept, anything odd (nested tables, huge numbers) as text."""
    safe = {}
    for key, value in headers.items():
        key = str(key)[:128]
        if isinstance(value, bool | float) or value is None:
            safe[key] = value
        elif isinstance(value, int) and -(2**63) <= value < 2**63:
            safe[key] = value
        elif isinstance(value, str):
            safe[key] = value[:1000]
        else:
            safe[key] = repr(value)[:1000]
    return safe


class _AnyDatetime(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, datetime)  # py-amqp's encoder still recognises every datetime


class _ClampedDatetime(datetime, metaclass=_AnyDatetime):
    """py-amqp decodes an AMQP timestamp (property or `T` header) with datetime.fromtimestamp, which raises for a
    value past the year 9999: the frame never decodes, the message is never acked and the consumer reconnects
    forever. Such a value reads as the latest datetime instead, so the message reaches our own checks."""

    @classmethod
    def fromtimestamp(cls, t, tz=None):
        try:
            return datetime.fromtimestamp(t, tz)
        except (OverflowError, OSError, ValueError):
            return datetime.max.replace(tzinfo=tz)


def tolerate_out_of_range_timestamps() -> None:
    """Make py-amqp's decoder survive any timestamp a publisher sends (idempotent)."""
    import amqp.serialization

    amqp.serialization.datetime = _ClampedDatetime


def connect(settings: Settings) -> kombu.Connection:
    """A new connection; memory:// when embedded, py-amqp with confirms and heartbeats otherwise."""
    if settings.amqp_url.startswith("memory://"):
        return kombu.Connection(settings.amqp_url, transport_options={"polling_interval": 0.01})
    tolerate_out_of_range_timestamps()
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


def bind_routine(channel, settings: Settings, event_types) -> None:
    """Bind routine `event_types` to `<exchange>.routine`, a fanout exchange without queues: they count as routed
    (an integrator's own binding still receives them) and stay out of the unrouted queue."""
    if not event_types:
        return
    sink = Exchange(f"{settings.exchange}.routine", type="fanout", durable=True, channel=channel)
    sink.declare()
    for event_type in sorted(event_types):
        channel.exchange_bind(destination=sink.name, source=settings.exchange, routing_key=event_type)


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
        self._batch = None  # (connection, confirm channel, confirm state, message class) for publish_batch

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

    def publish_batch(self, items, *, window: int = 500) -> tuple[list[str], dict[str, str]]:
        """Publish `(event_id, event_type, body)` items with confirms handled in windows (not one by one).

        Returns (confirmed ids, {id: reason} for messages the broker nacked). A lost connection or a confirm
        timeout raises PublishError whose `confirmed` lists what the broker had confirmed by then."""
        return self.settle(self.send_batch(items, window=window))

    def send_batch(self, items, *, window: int = 500) -> _Batch:
        """Publish the items without waiting for the last window's confirms: `settle` the batch later, so that a
        caller can do other work (its next database round trip) while the broker confirms. At most `window`
        messages of all unsettled batches are unconfirmed at any time. Raises PublishError like publish_batch."""
        if self.settings.amqp_url.startswith("memory://"):
            return self._publish_each(items)
        try:
            conn, channel, tags, message_class = self._batch_channel()
        except Exception as exc:
            raise PublishError(f"not published: {exc!r}") from exc
        batch = tags.begin()
        try:
            self._publish_windowed(conn, channel, tags, batch, message_class, items, window)
        except Exception as exc:
            self.reset()
            raise PublishError(f"not published: {exc!r}", batch.confirmed_ids()) from exc
        return batch

    def settle(self, batch: _Batch) -> tuple[list[str], dict[str, str]]:
        """Wait until the broker has confirmed or nacked every message of `batch` (sent by `send_batch`)."""
        tags = self._batch[2] if self._batch is not None else None
        if batch.outstanding():
            if tags is None or batch not in tags.open:  # the connection it went out on is gone
                raise PublishError("not published: the connection was lost", batch.confirmed_ids())
            conn = self._batch[0]
            try:
                deadline = _Deadline(self.confirm_timeout)
                while batch.outstanding():
                    self._drain(conn, tags, deadline)
            except Exception as exc:
                self.reset()
                raise PublishError(f"not published: {exc!r}", batch.confirmed_ids()) from exc
        if tags is not None:
            tags.close(batch)
        return batch.confirmed_ids(), batch.nacked_ids()

    def _publish_each(self, items) -> _Batch:
        """memory:// has no confirms to pipeline: one message at a time."""
        batch = _Batch(1)
        for event_id, event_type, body in items:
            try:
                self.publish_raw(body, event_properties(event_id, event_type), routing_key=event_type)
            except PublishError as exc:
                raise PublishError(str(exc), batch.confirmed_ids()) from exc
            batch.sent(event_id)
            batch.settle_one(batch.first_tag + len(batch.ids) - 1, "ack")
        return batch

    def _batch_channel(self):
        if self._batch is None:
            import amqp

            conn = kombu.Connection(self.settings.amqp_url, heartbeat=0, connect_timeout=5)
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            declare_topology(channel, self.settings)
            channel.confirm_select()
            tags = _Confirms()
            channel.events["basic_ack"].add(tags.ack)
            channel.events["basic_nack"].add(tags.nack)
            self._batch = (conn, channel, tags, amqp.Message)
        return self._batch

    def _publish_windowed(self, conn, channel, tags: _Confirms, batch: _Batch, message_class, items, window) -> None:
        from amqp.method_framing import frame_writer
        from amqp.spec import Basic

        publish = Basic.Publish
        exchange = self.settings.exchange
        wire = channel.connection  # the py-amqp connection: only this thread uses it (heartbeat=0)
        direct_writer, frames = wire.frame_writer, _Frames()
        coalescing_writer = frame_writer(wire, frames)
        timestamp = int(time.time())
        items = list(items)
        position = 0
        while position < len(items):
            # Keep at most `window` unconfirmed messages in flight: wait for the broker to catch up.
            if tags.outstanding() >= window:
                deadline = _Deadline(self.confirm_timeout)
                while tags.outstanding() >= window:
                    self._drain(conn, tags, deadline)
            room = min(window - tags.outstanding(), COALESCE, len(items) - position)
            # The frames of up to COALESCE messages go out in one socket write instead of one write each.
            wire.frame_writer = coalescing_writer
            try:
                for event_id, event_type, body in items[position : position + room]:
                    message = message_class(body, **event_properties(event_id, event_type, timestamp))
                    # basic_publish without its per-call socket-timeout context: the frames only go to the buffer.
                    channel.send_method(publish, "Bssbb", (0, exchange, event_type, False, False), message)
                    tags.sent(batch, event_id)
            finally:
                wire.frame_writer = direct_writer
                frames.flush(wire.transport)
            position += room

    @staticmethod
    def _drain(conn, tags: _Confirms, deadline: _Deadline) -> None:
        before = tags.settled
        try:
            conn.drain_events(timeout=max(0.01, deadline.left()))
        except TimeoutError:
            pass
        if tags.settled == before and deadline.left() <= 0:
            raise TimeoutError(f"{tags.outstanding()} message(s) not confirmed in time")

    def reset(self) -> None:
        """Drop the connection after an error; the next publish reconnects."""
        conn, self._conn, self._producer, self._direct = self._conn, None, None, None
        batch, self._batch = getattr(self, "_batch", None), None
        for connection in (conn, batch[0] if batch else None):
            if connection is not None:
                try:
                    connection.release()
                except Exception:
                    pass

    def close(self) -> None:
        self.reset()


def event_properties(event_id: str, event_type: str, timestamp: int | None = None) -> dict:
    """AMQP properties of an event published from its stored JSON (DESIGN.md §3: message_id = id, type = type)."""
    return {
        "content_type": events.CONTENT_TYPE,
        "content_encoding": "utf-8",
        "message_id": event_id,
        "type": event_type,
        "delivery_mode": 2,
        "timestamp": int(time.time()) if timestamp is None else timestamp,
    }


COALESCE = 64  # messages whose frames are written to the socket at once by send_batch


class _Frames:
    """Where py-amqp's frame writer puts a run of publishes, flushed to the socket in one write."""

    def __init__(self):
        self.buffer = bytearray()

    def write(self, data) -> None:
        self.buffer += data  # py-amqp hands over a view of its reused frame buffer: copy it

    def flush(self, transport) -> None:
        if self.buffer:
            data, self.buffer = bytes(self.buffer), bytearray()
            transport.write(data)


class _Deadline:
    def __init__(self, seconds: float):
        import time

        self._clock = time.monotonic
        self.at = self._clock() + seconds

    def left(self) -> float:
        return self.at - self._clock()


class _Batch:
    """The messages of one send_batch: consecutive delivery tags from `first_tag`, each acked, nacked or pending."""

    def __init__(self, first_tag: int):
        self.first_tag = first_tag
        self.ids: list[str] = []
        self.status: list[str | None] = []
        self.low = 0  # index of the lowest unsettled message
        self.settled = 0

    def sent(self, event_id: str) -> None:
        self.ids.append(event_id)
        self.status.append(None)

    def outstanding(self) -> int:
        return len(self.ids) - self.settled

    def settle_one(self, tag: int, outcome: str) -> int:
        index = tag - self.first_tag
        if not 0 <= index < len(self.ids) or self.status[index] is not None:
            return 0
        self.status[index] = outcome
        self.settled += 1
        self._advance()
        return 1

    def settle_up_to(self, tag: int, outcome: str) -> int:
        """Settle every pending message up to `tag` (a `multiple` confirm). Returns how many changed."""
        last = min(tag - self.first_tag, len(self.ids) - 1)
        changed = 0
        for i in range(self.low, last + 1):
            if self.status[i] is None:
                self.status[i] = outcome
                changed += 1
        self.settled += changed
        self._advance()
        return changed

    def _advance(self) -> None:
        while self.low < len(self.status) and self.status[self.low] is not None:
            self.low += 1

    def confirmed_ids(self) -> list[str]:
        return [i for i, s in zip(self.ids, self.status, strict=True) if s == "ack"]

    def nacked_ids(self) -> dict[str, str]:
        return {i: "nacked by the broker" for i, s in zip(self.ids, self.status, strict=True) if s == "nack"}


class _Confirms:
    """Publisher-confirm bookkeeping of a confirm channel: delivery tags are consecutive from its first publish,
    and a (multiple) confirm may settle messages of several batches still open."""

    def __init__(self):
        self.next_tag = 1  # the tag the broker gives the next publish on this channel
        self.open: list[_Batch] = []
        self.settled = 0  # confirms seen so far (to notice progress)
        self.unsettled = 0

    def begin(self) -> _Batch:
        batch = _Batch(self.next_tag)
        self.open.append(batch)
        return batch

    def close(self, batch: _Batch) -> None:
        if batch in self.open:
            self.open.remove(batch)
            self.unsettled -= batch.outstanding()

    def sent(self, batch: _Batch, event_id: str) -> None:
        batch.sent(event_id)
        self.next_tag += 1
        self.unsettled += 1

    def outstanding(self) -> int:
        return self.unsettled

    def _settle(self, tag: int, multiple: bool, outcome: str) -> None:
        changed = 0
        for batch in self.open:
            if tag < batch.first_tag:
                break
            changed += batch.settle_up_to(tag, outcome) if multiple else batch.settle_one(tag, outcome)
        self.settled += changed
        self.unsettled -= changed

    def ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self._settle(delivery_tag, multiple, "ack")

    def nack(self, delivery_tag: int, multiple: bool = False, *args) -> None:
        self._settle(delivery_tag, multiple, "nack")


Handler = Callable[[Any, Any, dict], None]


@dataclass(frozen=True)
class Batched:
    """A handler given a batch's events at once (a HANDLERS value like a plain handler): the consumer calls
    `prepare(context, event)` for each event new to the inbox — its payload read and checked, look-ups in other
    services, no database; what it raises (Poison, ValidationError, RetryLater, Unavailable) is that event's alone —
    then `apply(context, session, prepared)` once with the `[(event, prepare's result)]` of the batch's events whose
    handlers share that `apply` (one read and one write for them all, in one savepoint with their inbox rows). If
    `apply` fails for a reason other than an outage, each event is applied again in its own savepoint, so that the
    one at fault fails alone. Called as a plain handler, it is that for one event (`handle`, a batch of one)."""

    prepare: Callable[[Any, dict], Any]
    apply: Callable[[Any, Any, list[tuple[dict, Any]]], None]

    def __call__(self, context, session, event: dict) -> None:
        self.apply(context, session, [(event, self.prepare(context, event))])


# Taking a batch: after the first message, more are read only while the next arrives within BATCH_GAP_SECONDS and
# for BATCH_WAIT_SECONDS at most — what the broker has already sent (the prefetch), never a wait for a batch to fill:
# a lone message is held back by one gap at most.
BATCH_GAP_SECONDS = 0.002
BATCH_WAIT_SECONDS = 0.01


@dataclass
class _Delivered:
    """One message of a batch and what became of it; `error` set: it is retried or dead-lettered after the commit."""

    message: Any
    headers: dict = field(default_factory=dict)
    attempt: int = 0
    event: dict | None = None
    event_type: str = "unknown"  # only handled types become metric labels (no unbounded series)
    outcome: str = ""
    error: Exception | None = None
    poison: bool = False  # dead-lettered at once, not retried
    prepared: bool = False  # a `Batched` prepare ran (its value, or its failure noted): not run again for a redo
    value: Any = None

    def failed(self, exc: Exception, *, poison: bool = False) -> None:
        self.error, self.poison = exc, poison

    def reset(self) -> None:
        """Back to unapplied (its batch is applied again); what its `prepare` gave, or its failure, is kept."""
        self.outcome = ""
        if not self.prepared:
            self.error, self.poison = None, False


class EventConsumer:
    """Consumes `<service>.events`: parse, apply once (inbox), commit, then ack; retry, then dead-letter.

    Several events are applied per transaction (`consumer_batch`, of those already delivered), first without
    savepoints; if one fails, the transaction is rolled back and the batch applied again with a savepoint per event:
    the failing event alone is rolled back, the others commit together, and every message of the batch is acked
    after that one commit (its dead letter or retry published first)."""

    def __init__(
        self,
        settings: Settings,
        database,
        inbox_table,
        handlers: dict[str, Handler | Batched],
        context: Any = None,
        *,
        prefetch: int = 16,
        batch: int | None = None,
    ):
        self.settings = settings
        self.database = database
        self.inbox_table = inbox_table
        self.handlers = handlers
        self.context = context
        self.batch = max(1, batch if batch is not None else settings.consumer_batch)
        # Two batches in flight: the next one is already here while this one commits.
        self.prefetch = max(prefetch, 2 * self.batch)
        self.name = settings.service
        self.queues = service_queues(settings, handlers.keys())
        self.embedded = settings.amqp_url.startswith("memory://")
        self._publisher: Publisher | None = None
        self.ready = threading.Event()
        self.paused = False  # True while a dependency is down (consumption stopped, messages kept in the queue)

    # -- the loop ---------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                self._consume(stop)
                backoff = 0.5
            except _Paused as exc:  # a dependency is down: the batch was requeued, nothing spent
                self.ready.clear()
                self.paused = True
                log.warning(
                    "dependency unavailable, consumer paused", extra={"consumer": self.name, "error": str(exc)[:200]}
                )
                stop.wait(jittered(backoff))
                backoff = min(backoff * 2, 5.0)  # a short cap: resume soon after the dependency is back
            except Exception as exc:  # lost connection, broker stopped: reconnect with back-off
                self.ready.clear()
                log.warning(
                    "consumer connection lost, reconnecting: %s", repr(exc)[:300], extra={"consumer": self.name}
                )
                if self._publisher:
                    self._publisher.reset()
                stop.wait(jittered(backoff))
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
            delivered: list = []
            with kombu.Consumer(channel, queues=[self.queues.main], on_message=delivered.append, no_ack=False):
                self.ready.set()
                self.paused = False
                while not stop.is_set():
                    try:
                        conn.drain_events(timeout=1)
                    except TimeoutError:
                        conn.heartbeat_check()
                        continue
                    self._take_delivered(conn, delivered)
                    batch = delivered[:]
                    delivered.clear()
                    if batch:
                        self._on_messages(batch)

    def _take_delivered(self, conn, delivered: list) -> None:
        """Read what the broker has already sent, up to a batch (see BATCH_GAP_SECONDS)."""
        deadline = time.monotonic() + BATCH_WAIT_SECONDS
        while len(delivered) < self.batch:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                conn.drain_events(timeout=min(BATCH_GAP_SECONDS, left))
            except TimeoutError:
                return

    def declare(self) -> None:
        """Declare exchange and queues (so events published before the first consume are kept)."""
        with connect(self.settings) as conn:
            declare_service_queues(conn.channel(), self.settings, self.queues)

    # -- a batch of messages ----------------------------------------------------------------------
    def _on_messages(self, messages: list) -> None:
        """Every value read from a message is untrusted: what cannot be parsed is dead-lettered with the reason
        and acked, and the consumer goes on. A dependency outage requeues the whole batch (none of it committed,
        nothing published) and pauses."""
        items = [self._read(message) for message in messages]
        todo = [item for item in items if item.event is not None]
        try:
            if todo:
                self._apply_committed(todo)
        except Exception as exc:
            if is_outage(exc):
                # Not the messages' fault: back to the queue, attempt counts unchanged; stop consuming for a while.
                for item in items:
                    item.message.requeue()
                EVENTS_HANDLED.labels(self.name, todo[-1].event_type if todo else "unknown", "paused").inc()
                raise _Paused(repr(exc)[:300]) from exc
            if len(messages) > 1:
                # The commit itself failed: one transaction per message, so that the one at fault fails alone.
                for message in messages:
                    self._on_messages([message])
                return
            self._commit_failed(todo[0], exc)
        for item in items:
            self._settle(item)

    def _apply_committed(self, items: list[_Delivered]) -> None:
        """Apply a batch's events in one transaction: first without savepoints — two round trips fewer per batch,
        the consumer's usual case, where nothing fails — and, if anything in it raised (other than an outage or an
        event's `prepare`, which touches no table), the transaction is rolled back and the batch applied again with
        a savepoint per event (`_apply_all`), so that the one at fault fails alone."""
        try:
            with self.database.transaction() as session:
                try:
                    self._apply_all(session, items, savepoints=False)
                except _Redo:
                    raise
                except Exception as exc:
                    if is_outage(exc):
                        raise
                    raise _Redo() from exc
            return
        except _Redo as redo:
            culprit, error = redo.item, redo.error
            log.info(
                "batch failed without savepoints, applying it again with them",
                extra={"consumer": self.name, "error": repr(redo.error or redo.__cause__)[:200]},
            )
        for item in items:
            item.reset()
        if culprit is not None:
            # As its savepoint would have: its failure noted, its inbox row never written; the others again.
            culprit.failed(error, poison=isinstance(error, events.InvalidEvent | Poison))
            items = [item for item in items if item is not culprit]
        with self.database.transaction() as session:
            self._apply_all(session, items)

    def _commit_failed(self, item: _Delivered, exc: Exception) -> None:
        if isinstance(exc, IntegrityError):
            # Another consumer replica applied the same event concurrently.
            with self.database.transaction() as session:
                if inbox.seen(session, self.inbox_table, self.name, item.event["id"]):
                    item.outcome = "duplicate"
                    return
        item.failed(exc)

    def _read(self, message) -> _Delivered:
        item = _Delivered(message)
        try:
            item.headers = dict(message.headers or {})
        except Exception:
            item.headers = {}
        try:
            item.attempt = _attempt(item.headers, len(self.settings.retry_delays_ms))
            event = events.from_message(message.body, message.content_type, item.headers)
            if event["type"] not in self.handlers:
                raise Poison(f"no handler for {str(event['type'])[:100]}")
        except (events.InvalidEvent, Poison) as exc:
            item.failed(exc, poison=True)
            return item
        except Exception as exc:  # unforeseen: retried, then dead-lettered, as a handler's failure is
            item.failed(exc)
            return item
        item.event, item.event_type = event, event["type"]
        return item

    def _settle(self, item: _Delivered) -> None:
        """After the commit: the dead letter or retry published (confirmed), then the message acked."""
        if item.error is None:
            log.info(
                "event handled",
                extra={
                    "event_id": item.event["id"],
                    "event_type": item.event_type,
                    "consumer": self.name,
                    "outcome": item.outcome,
                },
            )
        elif item.poison:
            item.outcome = "dead_lettered"
            self._dead_letter(item.message, item.headers, item.error)
        else:
            item.outcome = self._retry_or_dead_letter(item.message, item.headers, item.attempt, item.error)
        item.message.ack()
        EVENTS_HANDLED.labels(self.name, item.event_type, item.outcome).inc()

    def handle(self, event: dict) -> str:
        """Apply `event` once in a transaction of its own (tests, replays): its outcome, or its failure raised."""
        item = _Delivered(None, event=event, event_type=event["type"])
        with self.database.transaction() as session:
            self._apply(session, item)
        if item.error is not None:
            raise item.error
        return item.outcome

    def _apply_all(self, session, items: list[_Delivered], *, savepoints: bool = True) -> None:
        """Apply a batch's events: a plain handler's each in its own savepoint, in order; then the events of each
        `Batched` apply together (an event already in this batch once goes alone, after them: a duplicate then, or
        applied if the first one failed). Without `savepoints` a failure is raised instead of noted (the caller
        rolls back and applies the batch again with them)."""
        apply_one = functools.partial(self._apply, savepoint=savepoints)
        together: dict[Callable, list[_Delivered]] = {}
        alone, ids = [], set()
        for item in items:
            handler = self.handlers[item.event_type]
            if isinstance(handler, Batched) and item.event["id"] not in ids:
                together.setdefault(handler.apply, []).append(item)
                ids.add(item.event["id"])
            elif isinstance(handler, Batched):
                alone.append(item)
            else:
                apply_one(session, item)
        for apply, group in together.items():
            if len(group) == 1:
                apply_one(session, group[0])
            else:
                self._apply_together(session, apply, group, savepoint=savepoints)
        for item in alone:
            apply_one(session, item)

    def _apply_together(self, session, apply: Callable, items: list[_Delivered], *, savepoint: bool = True) -> None:
        """Events of one `Batched` apply in one savepoint: their inbox rows claimed in one statement, each prepared
        (a failure is noted on its item and its inbox row released), then `apply` once for those prepared. Without
        `savepoint`, a failure of the claim or of `apply` is raised (the caller rolls the transaction back)."""
        prepared: list[tuple[_Delivered, Any]] = []
        try:
            with session.begin_nested() if savepoint else contextlib.nullcontext():
                new = inbox.claim_all(session, self.inbox_table, self.name, [item.event for item in items])
                failed = []
                for item in items:
                    if item.event["id"] not in new:
                        item.outcome = "duplicate"
                        continue
                    value = self._prepare(item)
                    if item.error is None:
                        prepared.append((item, value))
                    else:
                        failed.append(item.event["id"])
                if failed:
                    inbox.release(session, self.inbox_table, self.name, failed)
                if prepared:
                    apply(self.context, session, [(item.event, value) for item, value in prepared])
        except Exception as exc:
            if is_outage(exc) or not savepoint:
                raise
            log.warning(
                "batch apply failed, applying its events one by one",
                extra={"consumer": self.name, "error": repr(exc)[:200]},
            )
            # Those that failed to prepare keep their failure, duplicates stay duplicates; the others are applied
            # again one by one (with what `prepare` gave, if it ran), so that the one at fault fails alone.
            values = {id(item): value for item, value in prepared}
            for item in items:
                if item.error is not None or item.outcome == "duplicate":
                    continue
                handler = None
                if id(item) in values:
                    handler = functools.partial(_apply_one, apply, values[id(item)])
                self._apply(session, item, handler)
            return
        for item, _ in prepared:
            item.outcome = "applied"

    def _prepare(self, item: _Delivered) -> Any:
        """`prepare` of one event, once; its failure noted on `item`, an outage raised."""
        if not item.prepared:
            with _noted(item), _handling(item.event):
                item.value = self.handlers[item.event_type].prepare(self.context, item.event)
            item.prepared = True
        return item.value

    def _apply(self, session, item: _Delivered, handler: Handler | None = None, *, savepoint: bool = True) -> None:
        """Apply one event in its own savepoint: the handler's effect and the inbox row, or neither. Its failure
        is noted on `item` (the batch goes on); an outage is raised (the whole batch goes back to the queue).
        Without `savepoint`, in the caller's transaction: a failure is raised as `_Redo` naming the event (an
        outage, or the unique-key race with a replica, as it is), and the caller rolls the transaction back."""
        event = item.event
        handler = handler or self.handlers[event["type"]]
        with _noted(item) if savepoint else _redone(item):
            try:
                with _handling(event), session.begin_nested() if savepoint else contextlib.nullcontext():
                    if not inbox.claim(session, self.inbox_table, self.name, event):
                        item.outcome = "duplicate"
                        return
                    handler(self.context, session, event)
                item.outcome = "applied"
            except IntegrityError:
                # Another consumer replica applied the same event concurrently (seen once it committed; without a
                # savepoint the transaction is spoilt: the batch is applied again with them, where this is seen).
                if not savepoint or not inbox.seen(session, self.inbox_table, self.name, event["id"]):
                    raise
                item.outcome = "duplicate"

    def _retry_or_dead_letter(self, message, headers: dict, attempt: int, exc: Exception) -> str:
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
            "content_type": _short(message.content_type) or "application/octet-stream",
            "content_encoding": _short(message.content_encoding) or "utf-8",
            "delivery_mode": 2,
        }
        for key in ("message_id", "type", "timestamp"):
            value = message.properties.get(key)
            if value is not None:
                properties[key] = value if key == "timestamp" else _short(value)
        headers = _safe_headers(headers)
        body = _raw_body(message)
        # Via the default exchange straight to the queue; confirmed before the original is acked.
        if isinstance(threading.current_thread(), threading.Timer):
            publisher = Publisher(self.settings)  # a retry timer thread: connections are per thread
            try:
                publisher.publish_raw(body, properties, routing_key=queue_name, direct=True, headers=headers)
            finally:
                publisher.close()
            return
        self._publisher.publish_raw(body, properties, routing_key=queue_name, direct=True, headers=headers)


def _apply_one(apply: Callable, value: Any, context, session, event: dict) -> None:
    """A `Batched` apply for one event already prepared."""
    apply(context, session, [(event, value)])


@contextlib.contextmanager
def _handling(event: dict):
    """Log lines and outgoing calls made while handling `event` carry the request id that caused it, and the work
    continues that request's trace (see guanjia.tracing); a payload the handler's schema refuses is poison."""
    token = request_id_var.set(event.get("correlationid"))
    event_token = event_id_var.set(event["id"])
    try:
        with tracing.span(f"handle {event['type']}", event.get("traceparent"), "consumer", {"event_id": event["id"]}):
            yield
    except ValidationError as exc:
        raise Poison(f"invalid payload: {exc.messages}") from exc
    finally:
        event_id_var.reset(event_token)
        request_id_var.reset(token)


@contextlib.contextmanager
def _noted(item: _Delivered):
    """A failure of an event's work noted on `item` (poison: dead-lettered at once; else retried, then
    dead-lettered), so that the batch goes on; an outage raised (the whole batch goes back to the queue)."""
    try:
        yield
    except (events.InvalidEvent, Poison) as exc:
        item.failed(exc, poison=True)
    except Exception as exc:
        if is_outage(exc):
            raise
        item.failed(exc)


@contextlib.contextmanager
def _redone(item: _Delivered):
    """`_noted` for an event applied without a savepoint: its failure raised as `_Redo` naming it; an outage and
    the unique-key race raised as they are (the batch is then applied again with savepoints)."""
    try:
        yield
    except IntegrityError:
        raise
    except Exception as exc:
        if is_outage(exc):
            raise
        raise _Redo(item, exc) from exc


def _short(value) -> str | None:
    """An AMQP short string property, as text within its 255-byte limit."""
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text.encode("utf-8")[:255].decode("utf-8", "ignore")


def _raw_body(message) -> bytes:
    """The body as the bytes that arrived: py-amqp decodes a body to text when its content encoding is a codec."""
    body = message.body
    if isinstance(body, bytes):
        return body
    try:
        return body.encode(message.content_encoding or "utf-8")
    except Exception:
        return body.encode("utf-8", "surrogatepass")
