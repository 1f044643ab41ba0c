"""Events the community service handles: tolerant payload schemas and the HANDLERS dict."""

from __future__ import annotations

from types import SimpleNamespace

import marshmallow as ma
from sqlalchemy.orm import Session

from guanjia.db import parse_time
from guanjia.fields import Tolerant

from . import domain


class UnitChanged(Tolerant):
    """unit.created / unit.updated as community needs them; unknown fields are ignored (additive changes)."""

    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    building_id = ma.fields.String(load_default=None, allow_none=True)
    zone_id = ma.fields.String(load_default=None, allow_none=True)
    label = ma.fields.String(load_default=None, allow_none=True)


class ZoneUpdated(Tolerant):
    zone_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    name = ma.fields.String(load_default=None, allow_none=True)


def make_context(settings, upstreams):
    """What handlers and scheduled jobs receive: this service's settings."""
    return SimpleNamespace(settings=settings, upstreams=upstreams)


def on_unit_changed(context, session: Session, event: dict) -> None:
    domain.units.upsert(session, UnitChanged().load(event["data"]), parse_time(event["time"]))


def on_zone_updated(context, session: Session, event: dict) -> None:
    domain.units.upsert_zone(session, ZoneUpdated().load(event["data"]), parse_time(event["time"]))


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {
    "unit.created": UnitChanged,
    "unit.updated": UnitChanged,
    "zone.updated": ZoneUpdated,
}

HANDLERS = {
    "unit.created": on_unit_changed,
    "unit.updated": on_unit_changed,
    "zone.updated": on_zone_updated,
}
