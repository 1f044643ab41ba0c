"""JSON log lines carrying service, city, request_id and event_id, with personal data masked."""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import re
import sys
import threading
import traceback
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Set by the consumer while it handles an event: every line logged meanwhile names the event.
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Mainland mobile numbers (optionally +86) and 18-character resident ID numbers.
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_IDCARD_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def current_request_id() -> str | None:
    return request_id_var.get()


def mask_text(text: str) -> str:
    """Mask every phone number and ID-card number inside free text (log messages, third-party SDK logs)."""
    text = _IDCARD_RE.sub(lambda m: f"{m.group(1)[:3]}{'*' * 11}{m.group(2)}", text)
    return _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, city: str):
        super().__init__()
        self.service = service
        self.city = city

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "service": getattr(record, "service", None) or self.service,
            "city": self.city,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        event_id = event_id_var.get()
        if event_id:
            entry["event_id"] = event_id
        from .tracing import current_trace_id

        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                # An exception passed as a field (extra={"error": exc}) is its type, never its message.
                entry[key] = _exception_field(value) if isinstance(value, BaseException) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        # Masking the whole line also covers values third-party libraries put into messages.
        return mask_text(json.dumps(entry, ensure_ascii=False, default=str))

    def formatException(self, ei) -> str:
        return safe_traceback(ei)


# Exception messages carry whatever the failing code held: a resident's name in a ValueError, the SQL parameters
# of an IntegrityError, a phone in a provider's error. Names cannot be recognised by a pattern, so no message is
# logged: only the exception's type, a short digest of its message (the same failure has the same digest, for
# grouping) and where it happened (file, line, function, source line: code, not data).
WITHHELD = "message withheld (may carry personal data) #"


def withheld(message: str) -> str:
    if not message:
        return ""
    return WITHHELD + hashlib.sha256(message.encode("utf-8", "replace")).hexdigest()[:12]


def _exception_field(exc: BaseException) -> str:
    message = withheld(str(exc)) if str(exc) else ""
    return f"{type(exc).__qualname__}: {message}" if message else type(exc).__qualname__


def safe_traceback(exc_info) -> str:
    """A traceback of `exc_info` (and its causes) with every exception message replaced by `withheld(...)`."""
    _type, value, tb = exc_info
    if value is None:
        return "".join(traceback.format_exception(_type, value, tb))
    try:
        details = traceback.TracebackException(type(value), value, tb, capture_locals=False, compact=True)
    except Exception:  # a broken __str__ or a strange traceback must not lose the line
        return f"{type(value).__qualname__}: {withheld(repr(type(value)))}"
    return "".join(_safe_lines(details)).rstrip("\n")


def _safe_lines(details: traceback.TracebackException):
    if details.__cause__ is not None:
        yield from _safe_lines(details.__cause__)
        yield "\nThe above exception was the direct cause of the following exception:\n\n"
    elif details.__context__ is not None and not details.__suppress_context__:
        yield from _safe_lines(details.__context__)
        yield "\nDuring handling of the above exception, another exception occurred:\n\n"
    if details.stack:
        yield "Traceback (most recent call last):\n"
        yield from details.stack.format()
    kind = details.exc_type
    module = getattr(kind, "__module__", None)
    qualname = getattr(kind, "__qualname__", str(kind))
    name = qualname if module in (None, "builtins", "__main__") else f"{module}.{qualname}"
    message = withheld(str(details))
    yield f"{name}: {message}\n" if message else f"{name}\n"
    # Notes (add_note) and syntax-error text are data as well: left out.


def configure(service: str, city: str, level: str = "INFO", stream=None) -> None:
    """Route every logger (ours and third-party) through one masked JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service, city))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Uncaught exceptions (the main thread, consumer and relay threads) go through the same handler, so their
    # messages are withheld too instead of being printed raw to stderr by Python's default hooks.
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback, args.thread)
    logging.getLogger("werkzeug").setLevel("WARNING")
    logging.getLogger("amqp").setLevel("WARNING")
    logging.getLogger("kombu").setLevel("WARNING")


def _log_uncaught(exc_type, exc_value, exc_traceback, thread=None) -> None:
    if exc_type is not None and issubclass(exc_type, SystemExit | KeyboardInterrupt):
        return
    where = f" in thread {thread.name}" if thread is not None else ""
    logging.getLogger("guanjia.uncaught").error(
        "uncaught exception" + where, exc_info=(exc_type, exc_value, exc_traceback)
    )
