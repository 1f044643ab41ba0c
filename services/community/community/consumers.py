"""Events the community service handles: the HANDLERS dict (payload schemas in payloads.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from guanjia.db import parse_time

from . import domain
from .payloads import UnitChanged, ZoneUpdated


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
