"""Events the residents service publishes: their type names and payload schemas (the contract)."""

import marshmallow as ma

UNIT_CREATED = "unit.created"
UNIT_UPDATED = "unit.updated"
RESIDENT_REGISTERED = "resident.registered"
RESIDENT_MOVED_IN = "resident.moved_in"


class UnitCreatedV1(ma.Schema):
    """unit.created v1 — the unit's facts; area_m2 is a decimal string ("88.50"), never a float."""

    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    building_id = ma.fields.String(required=True)
    number = ma.fields.String(required=True)
    floor = ma.fields.Integer(required=True)
    area_m2 = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class UnitUpdatedV1(UnitCreatedV1):
    """unit.updated v1 — the unit's whole current state, same fields as unit.created."""


class ResidentRegisteredV1(ma.Schema):
    """resident.registered v1 — ids only: no name, no phone number (integrators read the bus)."""

    resident_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    role = ma.fields.String(required=True)


class ResidentMovedInV1(ma.Schema):
    """resident.moved_in v1 — ids and the time of the move-in (ISO 8601, UTC)."""

    resident_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    moved_in_at = ma.fields.String(required=True)


PUBLISHED = {
    UNIT_CREATED: UnitCreatedV1,
    UNIT_UPDATED: UnitUpdatedV1,
    RESIDENT_REGISTERED: ResidentRegisteredV1,
    RESIDENT_MOVED_IN: ResidentMovedInV1,
}
