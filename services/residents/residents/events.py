"""Events the residents service publishes: their type names and payload schemas (the contract).

Ids and facts only: no names, phone numbers, ID-card numbers or free text (integrators read the bus).
"""

import marshmallow as ma

ZONE_UPDATED = "zone.updated"
UNIT_CREATED = "unit.created"
UNIT_UPDATED = "unit.updated"
RESIDENT_REGISTERED = "resident.registered"
RESIDENT_UPDATED = "resident.updated"
RESIDENT_MOVED_IN = "resident.moved_in"
RESIDENT_MOVED_OUT = "resident.moved_out"
RENOVATION_APPROVED = "renovation.approved"
RENOVATION_VIOLATION = "renovation.violation"
RENOVATION_COMPLETED = "renovation.completed"


class ZoneUpdatedV1(ma.Schema):
    """zone.updated v1 — published on creation and on every change (name, butlers): the zone's whole state."""

    zone_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    butler_ids = ma.fields.List(ma.fields.String(), required=True)


class UnitCreatedV1(ma.Schema):
    """unit.created v1 — the unit's facts; areas are decimal strings ("88.50"), never floats.

    area_m2 (v1) is the gross area and stays; zone_id, unit_type, gross_area_m2 and inner_area_m2 were added;
    then building_name and label (`1栋1-101`, what screens show), absent from units written by a bulk import.
    """

    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    building_id = ma.fields.String(required=True)
    zone_id = ma.fields.String(required=True, allow_none=True)
    number = ma.fields.String(required=True)
    floor = ma.fields.Integer(required=True)
    unit_type = ma.fields.String(required=True)
    area_m2 = ma.fields.String(required=True)
    gross_area_m2 = ma.fields.String(required=True)
    inner_area_m2 = ma.fields.String(required=True, allow_none=True)
    status = ma.fields.String(required=True)
    building_name = ma.fields.String()
    label = ma.fields.String()


class UnitUpdatedV1(UnitCreatedV1):
    """unit.updated v1 — the unit's whole current state, same fields as unit.created."""


class ResidentRegisteredV1(ma.Schema):
    """resident.registered v1 — ids only: no name, no phone number. `status` was added (additive)."""

    resident_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    status = ma.fields.String(required=True)


class ResidentUpdatedV1(ResidentRegisteredV1):
    """resident.updated v1 — something about the resident changed (what, is not on the bus: it may be personal)."""


class ResidentMovedInV1(ma.Schema):
    """resident.moved_in v1 — ids and the time of the move-in (ISO 8601, UTC)."""

    resident_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    moved_in_at = ma.fields.String(required=True)


class ResidentMovedOutV1(ma.Schema):
    """resident.moved_out v1 — ids and the time of the move-out (ISO 8601, UTC)."""

    resident_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    moved_out_at = ma.fields.String(required=True)


class RenovationApprovedV1(ma.Schema):
    """renovation.approved v1 — a permit was issued; planned dates are YYYY-MM-DD."""

    renovation_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    applicant_id = ma.fields.String(required=True)
    structural = ma.fields.Boolean(required=True)
    planned_start = ma.fields.String(required=True)
    planned_end = ma.fields.String(required=True)
    approved_at = ma.fields.String(required=True)


class RenovationViolationV1(ma.Schema):
    """renovation.violation v1 — an inspection found a violation; the evidence notes stay in residents."""

    violation_id = ma.fields.String(required=True)
    renovation_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    applicant_id = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    severity = ma.fields.String(required=True)
    rectify_by = ma.fields.String(required=True)
    referred_to_authorities = ma.fields.Boolean(required=True)
    occurred_at = ma.fields.String(required=True)


class RenovationCompletedV1(ma.Schema):
    """renovation.completed v1 — final acceptance (验收): passed, or closed as failed. Published once."""

    renovation_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    applicant_id = ma.fields.String(required=True)
    completed_at = ma.fields.String(required=True)
    passed = ma.fields.Boolean(required=True)


PUBLISHED = {
    ZONE_UPDATED: ZoneUpdatedV1,
    UNIT_CREATED: UnitCreatedV1,
    UNIT_UPDATED: UnitUpdatedV1,
    RESIDENT_REGISTERED: ResidentRegisteredV1,
    RESIDENT_UPDATED: ResidentUpdatedV1,
    RESIDENT_MOVED_IN: ResidentMovedInV1,
    RESIDENT_MOVED_OUT: ResidentMovedOutV1,
    RENOVATION_APPROVED: RenovationApprovedV1,
    RENOVATION_VIOLATION: RenovationViolationV1,
    RENOVATION_COMPLETED: RenovationCompletedV1,
}
