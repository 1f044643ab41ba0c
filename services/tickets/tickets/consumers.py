"""Events the tickets service handles: tolerant payload schemas and the HANDLERS dict."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from sqlalchemy.orm import Session

from guanjia.db import as_utc, parse_time

from .models import Unit


class UnitChanged(ma.Schema):
    """unit.created / unit.updated as tickets needs them; unknown fields are ignored (additive changes)."""

    class Meta:
        unknown = ma.EXCLUDE

    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    building_id = ma.fields.String(load_default=None)
    number = ma.fields.String(load_default=None)


def upsert_unit(session: Session, data: dict, source_time: datetime) -> None:
    unit = session.get(Unit, data["unit_id"])
    if unit is None:
        session.add(
            Unit(
                id=data["unit_id"],
                community_id=data["community_id"],
                building_id=data["building_id"],
                number=data["number"],
                source_time=source_time,
            )
        )
        return
    if as_utc(unit.source_time) > source_time:
        return  # an older event arriving late
    unit.community_id = data["community_id"]
    unit.building_id = data["building_id"]
    unit.number = data["number"]
    unit.source_time = source_time


def on_unit_changed(context, session: Session, event: dict) -> None:
    data = UnitChanged().load(event["data"])
    upsert_unit(session, data, parse_time(event["time"]))


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {"unit.created": UnitChanged, "unit.updated": UnitChanged}

HANDLERS = {
    "unit.created": on_unit_changed,
    "unit.updated": on_unit_changed,
}
