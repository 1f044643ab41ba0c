"""Events the billing service handles: tolerant payload schemas and the HANDLERS dict."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP

import marshmallow as ma
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from guanjia.db import parse_time

from .models import BillingUnit


class UnitChanged(ma.Schema):
    """unit.created / unit.updated as billing needs them; unknown fields are ignored (additive changes)."""

    class Meta:
        unknown = ma.EXCLUDE

    unit_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))
    community_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=36))
    building_id = ma.fields.String(load_default=None, allow_none=True)
    number = ma.fields.String(load_default=None, allow_none=True)
    floor = ma.fields.Integer(load_default=None, allow_none=True)
    # A decimal string ("88.50"); fees are charged on it, so never through a float.
    area_m2 = ma.fields.Decimal(
        load_default=None,
        allow_none=True,
        places=2,
        rounding=ROUND_HALF_UP,
        validate=ma.validate.Range(min=0, max=99_999_999),
    )
    status = ma.fields.String(load_default=None, allow_none=True)


def upsert_unit(session: Session, data: dict, source_time: datetime) -> None:
    """Insert or update the unit unless what we hold is newer (one statement, safe against a concurrent writer)."""
    values = {name: data[name] for name in UnitChanged().fields} | {"source_time": source_time}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(BillingUnit).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[BillingUnit.unit_id],
        set_={name: statement.excluded[name] for name in values if name != "unit_id"},
        where=BillingUnit.source_time <= statement.excluded.source_time,  # an older event arriving late changes nothing
    )
    session.execute(statement)


def on_unit_changed(context, session: Session, event: dict) -> None:
    data = UnitChanged().load(event["data"])
    upsert_unit(session, data, parse_time(event["time"]))


# The payload schema of every consumed type (checked against the producers' documents in tests/contract).
SCHEMAS = {"unit.created": UnitChanged, "unit.updated": UnitChanged}

HANDLERS = {
    "unit.created": on_unit_changed,
    "unit.updated": on_unit_changed,
}
