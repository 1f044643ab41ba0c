"""Read docs/asyncapi.yaml: the payload JSON Schema and example of every event type."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jsonschema
import yaml

ASYNCAPI = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


@cache
def document() -> dict:
    return yaml.safe_load(ASYNCAPI.read_text())


def messages() -> dict[str, dict]:
    """{event type: message object} for every message in the document."""
    return {message["name"]: message for message in document()["components"]["messages"].values()}


def validate_event(event: dict) -> None:
    """Validate a whole CloudEvent (envelope + data) against the document; raises on any mismatch."""
    doc = document()
    jsonschema.Draft202012Validator(doc["components"]["schemas"]["envelope"]).validate(event)
    jsonschema.Draft202012Validator(messages()[event["type"]]["payload"]).validate(event["data"])
