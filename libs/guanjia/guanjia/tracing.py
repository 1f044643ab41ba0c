"""W3C trace context (`traceparent`) from the HTTP request through the outbox and the bus to the consumer.

The trace context is always propagated: a request's `traceparent` header (or a new one) becomes the
`traceparent` extension of every event it causes, and a consumer continues that trace while handling the
event (its log lines carry `trace_id`; events it emits in turn carry the same trace). OpenTelemetry spans
are recorded only when configured: GUANJIA_OTEL_EXPORTER=console prints finished spans (a real deployment
points an OpenTelemetry SDK exporter at its collector the same way); unset or "none" records nothing.
"""

from __future__ import annotations

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
_configured = False
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


def tracer():
    """The OpenTelemetry tracer when GUANJIA_OTEL_EXPORTER is set, else None (tracing stays off)."""
    global _tracer, _configured
    if _configured:
        return _tracer
    with _lock:
        if not _configured:
            _tracer = _make_tracer(os.environ.get("GUANJIA_OTEL_EXPORTER", "").strip().lower())
            _configured = True
    return _tracer


def _make_tracer(exporter: str):
    if exporter in ("", "none", "off"):
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        log.warning("GUANJIA_OTEL_EXPORTER is set but opentelemetry-sdk is not installed; tracing stays off")
        return None
    if exporter != "console":
        log.warning("unknown GUANJIA_OTEL_EXPORTER; tracing stays off", extra={"exporter": exporter})
        return None
    resource = Resource.create(
        {"service.name": os.environ.get("GUANJIA_SERVICE_NAME", "guanjia"), "city": os.environ.get("GUANJIA_CITY", "")}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    return provider.get_tracer("guanjia")


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
