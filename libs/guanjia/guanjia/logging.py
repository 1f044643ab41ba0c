"""JSON log lines carrying service, city, request_id and event_id, with personal data masked."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
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
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Masking the whole line also covers values third-party libraries put into messages.
        return mask_text(json.dumps(entry, ensure_ascii=False, default=str))


def configure(service: str, city: str, level: str = "INFO", stream=None) -> None:
    """Route every logger (ours and third-party) through one masked JSON handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service, city))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel("WARNING")
    logging.getLogger("amqp").setLevel("WARNING")
    logging.getLogger("kombu").setLevel("WARNING")
