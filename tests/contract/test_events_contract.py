"""Producers, consumers and docs/asyncapi.yaml agree on every event (DESIGN.md §3)."""

from __future__ import annotations

import importlib

import jsonschema
import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat

from guanjia import events
from guanjia.service import load_specs

from .asyncapi import document, messages, validate_event


def _published() -> dict[str, tuple[str, type]]:
    found = {}
    for name in load_specs():
        module = importlib.import_module(f"{name}.events") if name != "gateway" else None
        for event_type, schema in getattr(module, "PUBLISHED", {}).items():
            found[event_type] = (name, schema)
    return found


def _consumed() -> list[tuple[str, str, type]]:
    found = []
    for name, spec in load_specs().items():
        if not spec.handlers:
            continue
        schemas = importlib.import_module(f"{name}.consumers").SCHEMAS
        assert set(schemas) == set(spec.handlers), f"{name}: SCHEMAS and HANDLERS list different types"
        found += [(name, event_type, schema) for event_type, schema in schemas.items()]
    return found


PUBLISHED = _published()


def test_every_published_event_is_documented_and_nothing_else_is():
    assert set(PUBLISHED) == set(messages())
    assert set(document()["channels"]) == set(PUBLISHED)


@pytest.mark.parametrize("event_type", sorted(PUBLISHED))
def test_producer_schema_matches_the_documented_payload(event_type):
    _, schema = PUBLISHED[event_type]
    message = messages()[event_type]
    payload_schema = message["payload"]
    assert set(schema().fields) == set(payload_schema["properties"])
    required = {name for name, field in schema().fields.items() if field.required}
    assert required == set(payload_schema["required"])
    for example in message["examples"]:
        jsonschema.Draft202012Validator(payload_schema).validate(example["payload"])
        assert schema().load(example["payload"]) is not None


@pytest.mark.parametrize("event_type", sorted(PUBLISHED))
def test_envelope_round_trips_through_the_cloudevents_package(event_type):
    producer, schema = PUBLISHED[event_type]
    data = schema().dump(schema().load(messages()[event_type]["examples"][0]["payload"]))
    event = events.build(
        type=event_type,
        source=f"/shanghai/{producer}",
        subject="x/1",
        data=data,
        city="shanghai",
        community="c-1",
        correlationid="req-1",
    )
    validate_event(event)
    body, properties = events.to_message(event)
    parsed = from_rabbitmq(
        RabbitMQMessage(headers={}, content_type=properties["content_type"], body=body), JSONFormat()
    )
    assert parsed.get_id() == event["id"] == properties["message_id"]
    assert parsed.get_type() == event_type == properties["type"]
    assert parsed.get_data() == data
    assert parsed.get_extension("city") == "shanghai"
    assert events.from_message(body, properties["content_type"]) == event


@pytest.mark.parametrize(
    ("consumer", "event_type", "schema"), _consumed(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_consumer_accepts_what_the_producer_documents(consumer, event_type, schema):
    assert event_type in PUBLISHED, f"{consumer} consumes {event_type}, which nobody publishes"
    for example in messages()[event_type]["examples"]:
        schema().load(example["payload"])
        # Additive changes must not break consumers: an extra field is tolerated.
        schema().load({**example["payload"], "added_later": "x"})


def test_an_invalid_envelope_is_refused():
    with pytest.raises(events.InvalidEvent):
        events.from_message(b'{"specversion": "1.0", "type": "ticket.created"}', "application/cloudevents+json")
