"""Every published event's `dataschema` resolves, through the gateway and without a token, to the JSON Schema of
the payload schema its producer validates with (`<service>.events.PUBLISHED`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import jsonschema
import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from guanjia import config, events, http, outbox
from guanjia.service import load_specs

from .asyncapi import messages

PRODUCERS = {name: events.published(name) for name in load_specs()}
PUBLISHED = sorted((name, event_type) for name, schemas in PRODUCERS.items() for event_type in schemas)
GATEWAY = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """The gateway and every service in-process (no server, no migration: a schema needs no database)."""
    env = {"GUANJIA_VAR_DIR": str(tmp_path_factory.mktemp("dataschema-var")), "GUANJIA_GATEWAY_URL": GATEWAY}
    specs = {name: spec for name, spec in load_specs().items() if name != "workbench"}
    apps = {name: spec.create_app(config.from_env(name, env), {}) for name, spec in specs.items() if name != "gateway"}
    gateway = specs["gateway"].create_app(config.from_env("gateway", env), http.upstreams_for(None, apps))
    return env, gateway.test_client()


def _written(settings, event_type: str, data: dict) -> tuple[dict, dict]:
    """The event as `outbox.emit` and as `outbox.Batch` write it (SQLite; the payload check of the test plugin on)."""
    engine = create_engine("sqlite://")
    table = outbox.define_outbox(MetaData())
    table.metadata.create_all(engine)
    with Session(engine) as session:
        emitted = outbox.emit(session, table, settings, type=event_type, subject="x/1", data=data)
        batch = outbox.Batch(table, settings, event_type)
        batched = batch.add(subject="x/2", data=data)
    engine.dispose()
    return emitted, batched


def test_every_service_that_publishes_serves_its_schemas():
    assert PUBLISHED and {name for name, _ in PUBLISHED} >= {"residents", "tickets", "billing", "notifications"}


@pytest.mark.parametrize(("producer", "event_type"), PUBLISHED)
def test_the_dataschema_of_a_written_event_resolves_to_its_producers_schema(instance, producer, event_type):
    env, gateway = instance
    settings = config.from_env(producer, env)
    schema = PRODUCERS[producer][event_type]
    example = schema().dump(schema().load(messages()[event_type]["examples"][0]["payload"]))
    emitted, batched = _written(settings, event_type, example)
    url = emitted["dataschema"]
    assert batched["dataschema"] == url, "emit and Batch name the same schema"
    assert url == f"{GATEWAY}/api/v1/{producer}/schemas/events/{event_type}/v1.json"

    response = gateway.get(urlsplit(url).path)  # no Authorization: the schema is public
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/schema+json"
    served = response.get_json()
    assert served["$id"] == url
    jsonschema.Draft202012Validator.check_schema(served)

    # The schema the producer validates with: the same fields, the same required ones, the same verdicts.
    fields = schema().fields
    assert set(served["properties"]) == set(fields)
    assert set(served.get("required", [])) == {name for name, field in fields.items() if field.required}
    validator = jsonschema.Draft202012Validator(served)
    assert not list(validator.iter_errors(example))
    assert list(validator.iter_errors({**example, "not_in_the_schema": 1})) and schema().validate(
        {**example, "not_in_the_schema": 1}
    )
    for name in served.get("required", []):
        incomplete = {k: v for k, v in example.items() if k != name}
        assert list(validator.iter_errors(incomplete)) and schema().validate(incomplete), name


def test_an_unknown_type_or_version_is_not_found(instance):
    _, gateway = instance
    assert gateway.get("/api/v1/tickets/schemas/events/ticket.created/v2.json").status_code == 404
    assert gateway.get("/api/v1/tickets/schemas/events/bill.issued/v1.json").status_code == 404
    # Only the schemas are public: the service's other routes still want a token at the gateway.
    assert gateway.get("/api/v1/tickets").status_code == 401
