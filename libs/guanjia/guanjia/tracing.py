"""W3C trace context (`traceparent`) from the HTTP request through the outbox and the bus to the consumer.

The trace context is always propagated: a request's `traceparent` header (or a new one) becomes the
`traceparent` extension of every event it causes, and a consumer continues that trace while handling the
event (its log lines carry `trace_id`; events it emits in turn carry the same trace). OpenTelemetry spans
are recorded only when configured, with the standard variables: OTEL_TRACES_EXPORTER=otlp or an
OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT exports OTLP over HTTP/protobuf through a batch span processor (endpoint,
headers, timeout, compression, OTEL_BSP_* and OTEL_TRACES_SAMPLER as the OpenTelemetry SDK reads them;
OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES for the resource); OTEL_SDK_DISABLED=true turns it off.
GUANJIA_OTEL_EXPORTER=console|otlp|none is the older switch and wins when set.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import logging
import os
import re
import secrets
import threading

log = logging.getLogger("guanjia.tracing")
traceparent_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)
_TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16

_tracer = None
_provider = None
_configured = False
_service = None
_lock = threading.Lock()


def parse(value: str | None) -> tuple[str, str, str] | None:
    """(trace_id, parent span id, flags) of a valid version-00 traceparent; None for anything else."""
    match = _TRACEPARENT_RE.match((value or "").strip().lower())
    if not match or match.group(1) == _ZERO_TRACE or match.group(2) == _ZERO_SPAN:
        return None
    return match.group(1), match.group(2), match.group(3)


def child_of(parent: str | None) -> str:
    """A traceparent for new work: the parent's trace with a new span id, or a new sampled trace."""
    parsed = parse(parent)
    trace_id, flags = (parsed[0], parsed[2]) if parsed else (secrets.token_hex(16), "01")
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


def current() -> str | None:
    return traceparent_var.get()


def current_trace_id() -> str | None:
    parsed = parse(traceparent_var.get())
    return parsed[0] if parsed else None


def configure(service: str | None = None) -> None:
    """Set up this process's exporter now (gunicorn: in the worker, after the fork; `guanjia worker`: at start).

    `service` names the resource (`guanjia-<service>`) unless OTEL_SERVICE_NAME says otherwise. Safe to repeat:
    a process set up once keeps its exporter."""
    global _service
    if service:
        _service = service
    tracer()


def tracer():
    """The OpenTelemetry tracer when an exporter is configured (see the module docstring), else None."""
    global _tracer, _configured
    if _configured:
        return _tracer
    with _lock:
        if not _configured:
            _tracer = _make_tracer(exporter_choice(os.environ))
            _configured = True
    return _tracer


def exporter_choice(env) -> str:
    """ "console", "otlp" or "" (off) from GUANJIA_OTEL_EXPORTER, else the standard OTEL_* variables."""
    explicit = env.get("GUANJIA_OTEL_EXPORTER", "").strip().lower()
    if explicit:
        return "" if explicit in ("none", "off") else explicit
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ""
    chosen = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()]
    if chosen:
        return next((e for e in chosen if e in ("otlp", "console")), "")
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "otlp"
    return ""


def _make_tracer(exporter: str):
    global _provider
    if not exporter:
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        log.warning("tracing is configured but opentelemetry-sdk is not installed; tracing stays off")
        return None
    if exporter == "console":
        processor = SimpleSpanProcessor(ConsoleSpanExporter())
    elif exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTLP export needs opentelemetry-exporter-otlp-proto-http; tracing stays off")
            return None
        # The exporter reads OTEL_EXPORTER_OTLP_* itself; the batch processor's thread starts here, in this process.
        processor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        log.warning("unknown trace exporter; tracing stays off", extra={"exporter": exporter})
        return None
    name = os.environ.get("GUANJIA_SERVICE_NAME") or (f"guanjia-{_service}" if _service else "guanjia")
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME over these defaults.
    resource = Resource.create({"service.name": name, "guanjia.city": os.environ.get("GUANJIA_CITY", "demo")})
    if os.environ.get("OTEL_SERVICE_NAME"):
        resource = resource.merge(Resource({"service.name": os.environ["OTEL_SERVICE_NAME"]}))
    _provider = TracerProvider(resource=resource)
    _provider.add_span_processor(processor)
    # Flush what the batch holds when the process exits (gunicorn worker restart, SIGTERM).
    atexit.register(_provider.shutdown)
    return _provider.get_tracer("guanjia")


def shutdown() -> None:
    """Flush and stop the exporter (also done at exit)."""
    if _provider is not None:
        _provider.shutdown()


@contextlib.contextmanager
def span(name: str, parent: str | None, kind: str = "internal", attributes: dict | None = None):
    """Work that continues the trace `parent` (a traceparent string); sets current() for its duration."""
    otel = tracer()
    if otel is None:
        token = traceparent_var.set(child_of(parent))
        try:
            yield current()
        finally:
            traceparent_var.reset(token)
        return
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({"traceparent": parent} if parse(parent) else {})
    span_kind = {"server": trace.SpanKind.SERVER, "consumer": trace.SpanKind.CONSUMER}.get(
        kind, trace.SpanKind.INTERNAL
    )
    with otel.start_as_current_span(name, context=context, kind=span_kind, attributes=attributes or {}) as live:
        ctx = live.get_span_context()
        value = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
        token = traceparent_var.set(value)
        try:
            yield value
        finally:
            traceparent_var.reset(token)


def begin(parent: str | None, name: str, kind: str = "server", attributes: dict | None = None):
    """Enter span(...) by hand (Flask's before/teardown hooks); returns the context manager to exit later."""
    manager = span(name, parent, kind, attributes)
    manager.__enter__()
    return manager
