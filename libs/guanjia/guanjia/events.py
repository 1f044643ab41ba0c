"""CloudEvents 1.0 envelope (structured JSON): build, validate, and convert to/from AMQP messages."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

from cloudevents.core.bindings import rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

CONTENT_TYPE = "application/cloudevents+json"
EXTENSIONS = ("city", "community", "correlationid", "traceparent")
_TYPE_RE = re.compile(r"^[a-z_]+\.[a-z_]+$")


class InvalidEvent(ValueError):
    """A message that is not a Guanjia CloudEvent: it goes to the dead-letter queue."""


def schemas_prefix(service: str) -> str:
    """Below which the producer serves its payload schemas (public; the gateway routes it by the service's name)."""
    return f"/api/v1/{service}/schemas/events"


def schema_rule(service: str) -> str:
    """The Flask rule of that route (guanjia.web serves it; guanjia.access lists it as public)."""
    return schemas_prefix(service) + "/<event_type>/<file>"  # file: v<version>.json


def schema_path(service: str, event_type: str, version: int = 1) -> str:
    """Where the producer serves the payload schema of a type and version."""
    return f"{schemas_prefix(service)}/{event_type}/v{version}.json"


def schema_url(settings, event_type: str, version: int = 1) -> str:
    """The `dataschema` of an event this service writes: its schema route at the instance's gateway address
    (GUANJIA_GATEWAY_URL; the same local default as config's when settings were made without the service URLs)."""
    return _gateway_url(settings.service_urls.get("gateway")) + schema_path(settings.service, event_type, version)


def _gateway_url(configured: str | None) -> str:
    from .config import SERVICE_PORTS

    return (configured or f"http://127.0.0.1:{SERVICE_PORTS['gateway']}").rstrip("/")


def published(service: str) -> dict:
    """{event type: marshmallow schema} a service publishes (`<service>.events.PUBLISHED`); {} for none."""
    import importlib

    try:
        module = importlib.import_module(f"{service}.events")
    except ModuleNotFoundError as exc:
        if exc.name not in (service, f"{service}.events"):
            raise  # a broken import inside the module is an error, not "publishes nothing"
        return {}  # the gateway and the workbench publish nothing
    return dict(getattr(module, "PUBLISHED", {}))


def json_schema(schema, url: str) -> dict:
    """The JSON Schema (2020-12) of a published payload schema: what its dataschema URI serves."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    plugin = MarshmallowPlugin(schema_name_resolver=lambda _schema: None)  # nested schemas inline, no $ref
    APISpec("events", "1", "3.1.0", plugins=[plugin])  # OpenAPI 3.1 schemas are JSON Schema 2020-12
    document = plugin.converter.schema2jsonschema(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, **document}


def build(
    *,
    type: str,
    source: str,
    subject: str,
    data: dict,
    city: str,
    community: str | None = None,
    correlationid: str | None = None,
    traceparent: str | None = None,
    version: int = 1,
    id: str | None = None,
    time: datetime | None = None,
    dataschema_url: str | None = None,
) -> dict:
    """A CloudEvent as a plain dict (what the outbox stores and the bus carries). `dataschema_url` is where its
    payload schema is served (schema_url; the outbox passes it); without it, the producer named by `source`
    (`/<city>/<service>`) at the local gateway's default address (an event a test builds for another service)."""
    if not _TYPE_RE.match(type):
        raise ValueError(f"event type {type!r} is not <aggregate>.<what_happened>")
    event = {
        "specversion": "1.0",
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "subject": subject,
        "time": (time or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": dataschema_url or _gateway_url(None) + schema_path(source.rsplit("/", 1)[-1], type, version),
        "city": city,
        "data": data,
    }
    for key, value in (("community", community), ("correlationid", correlationid), ("traceparent", traceparent)):
        if value:
            event[key] = value
    if not _surely_valid(event, time):
        validate(event)  # raises InvalidEvent as it always did (or passes: the quick check only says "sure")
    return event


def _surely_valid(event: dict, time: datetime | None) -> bool:
    """True only when `validate(event)` of what `build` made is sure to pass, checked without writing the event
    out and parsing it back (two per created ticket: the parse was ~3/4 of building one): the attributes
    `validate` checks have the types and values that pass, and json.dumps takes the event as it takes it there.
    Anything else (odd types, a naive or second-offset time, data json refuses) goes to the full `validate`."""
    if time is not None:
        # The time is written as isoformat and read back with its offset: aware, in whole minutes, to be sure.
        offset = time.utcoffset() if isinstance(time, datetime) else None
        if offset is None or offset.seconds % 60 or offset.microseconds:
            return False
    for name in ("id", "source", "subject", "dataschema"):
        value = event[name]
        if not (isinstance(value, str) and value):
            return False
    if not isinstance(event["data"], dict):
        return False
    try:
        json.dumps(event)
    except Exception:  # whatever json refuses, validate refuses with its own message
        return False
    return True


def validate(event: dict) -> CloudEvent:
    """Check the envelope with the cloudevents package; raise InvalidEvent on anything off."""
    if not isinstance(event, dict):
        raise InvalidEvent("event is not a JSON object")
    try:
        parsed = JSONFormat().read(CloudEvent, json.dumps(event).encode())
    except Exception as exc:  # the cloudevents package raises several exception types
        raise InvalidEvent(f"not a CloudEvent: {exc}") from exc
    return _checked(parsed)


def _checked(parsed: CloudEvent) -> CloudEvent:
    """What the cloudevents package does not check itself: our envelope's rules."""
    if parsed.get_specversion() != "1.0":
        raise InvalidEvent("specversion must be 1.0")
    if not _TYPE_RE.match(parsed.get_type()):
        raise InvalidEvent(f"bad event type {parsed.get_type()!r}")
    if not isinstance(parsed.get_data(), dict):
        raise InvalidEvent("data must be a JSON object")
    if not parsed.get_subject():
        raise InvalidEvent("subject is required")
    return parsed


def to_message(event: dict) -> tuple[bytes, dict]:
    """Body and AMQP properties for publishing: structured mode, message_id = id, type = type."""
    ce = validate(event)
    message = rabbitmq.to_structured(ce, JSONFormat())
    properties = {
        "content_type": message.content_type,
        "content_encoding": "utf-8",
        "message_id": event["id"],
        "type": event["type"],
        "delivery_mode": 2,
        "timestamp": int(datetime.now(UTC).timestamp()),
    }
    return message.body, properties


def from_message(body: bytes | str, content_type: str | None, headers: dict | None = None) -> dict:
    """Parse a received message (structured or binary mode) into the event dict; InvalidEvent if not one."""
    if isinstance(body, str):
        body = body.encode()
    try:
        ce = rabbitmq.from_rabbitmq(
            rabbitmq.RabbitMQMessage(
                headers={k: str(v) for k, v in (headers or {}).items() if str(k).lower().startswith("ce-")},
                content_type=content_type,
                body=body,
            ),
            JSONFormat(),
        )
    except Exception as exc:
        raise InvalidEvent(f"cannot parse message as a CloudEvent: {exc}") from exc
    # Checked as parsed (not written out and parsed again: the consumer reads every message once).
    _checked(ce)
    attrs = dict(ce.get_attributes())
    if isinstance(attrs.get("time"), datetime):
        attrs["time"] = attrs["time"].isoformat().replace("+00:00", "Z")
    attrs["data"] = ce.get_data()
    return attrs
