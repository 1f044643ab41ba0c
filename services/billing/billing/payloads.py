"""Payloads of the events billing consumes, as billing reads them: tolerant (unknown fields are ignored)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP

import marshmallow as ma

from guanjia.fields import Tolerant

_ID = {"validate": ma.validate.Length(min=1, max=36)}


def _area(**kwargs):
    # A decimal string ("88.50"); fees are charged on it, so never through a float.
    return ma.fields.Decimal(
        load_default=None,
        allow_none=True,
        places=2,
        rounding=ROUND_HALF_UP,
        validate=ma.validate.Range(min=0, max=99_999_999),
        **kwargs,
    )


class UnitChanged(Tolerant):
    """unit.created / unit.updated (v1 fields plus the additive zone, type and areas)."""

    unit_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    building_id = ma.fields.String(load_default=None, allow_none=True)
    zone_id = ma.fields.String(load_default=None, allow_none=True)
    number = ma.fields.String(load_default=None, allow_none=True)
    floor = ma.fields.Integer(load_default=None, allow_none=True)
    unit_type = ma.fields.String(load_default=None, allow_none=True)
    area_m2 = _area()
    gross_area_m2 = _area()
    inner_area_m2 = _area()
    status = ma.fields.String(load_default=None, allow_none=True)
    label = ma.fields.String(load_default=None, allow_none=True)  # additive: `1栋1-101`, for display


class ZoneUpdated(Tolerant):
    zone_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    name = ma.fields.String(load_default=None, allow_none=True)
    butler_ids = ma.fields.List(ma.fields.String(), load_default=list)


class ResidentMovedIn(Tolerant):
    resident_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    moved_in_at = ma.fields.AwareDateTime(required=True)


class ResidentMovedOut(Tolerant):
    resident_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    moved_out_at = ma.fields.AwareDateTime(required=True)


class RenovationApproved(Tolerant):
    renovation_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    applicant_id = ma.fields.String(load_default=None, allow_none=True)
    approved_at = ma.fields.AwareDateTime(required=True)


class RenovationViolation(Tolerant):
    violation_id = ma.fields.String(required=True, **_ID)
    renovation_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    applicant_id = ma.fields.String(load_default=None, allow_none=True)
    category = ma.fields.String(load_default=None, allow_none=True)
    severity = ma.fields.String(required=True)
    occurred_at = ma.fields.AwareDateTime(required=True)


class RenovationCompleted(Tolerant):
    renovation_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    applicant_id = ma.fields.String(load_default=None, allow_none=True)
    completed_at = ma.fields.AwareDateTime(required=True)
    passed = ma.fields.Boolean(required=True)


class TicketResolved(Tolerant):
    ticket_id = ma.fields.String(required=True, **_ID)
    number = ma.fields.String(load_default=None, allow_none=True)
    community_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(load_default=None, allow_none=True)
    reporter_id = ma.fields.String(load_default=None, allow_none=True)
    resolved_at = ma.fields.AwareDateTime(required=True)
    paid = ma.fields.Boolean(load_default=False)
    # The accepted charge of a paid repair, a decimal string; never through a float.
    charge = ma.fields.Decimal(load_default=None, allow_none=True, places=2, validate=ma.validate.Range(min=0))
    charge_accepted = ma.fields.Boolean(load_default=False)


class ServiceOrderCompleted(Tolerant):
    """service_order.completed from community: a catalogue service delivered to a unit, at its agreed amount."""

    order_id = ma.fields.String(required=True, **_ID)
    community_id = ma.fields.String(required=True, **_ID)
    unit_id = ma.fields.String(required=True, **_ID)
    item_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    amount = ma.fields.Decimal(required=True, places=2, validate=ma.validate.Range(min=0))
    completed_at = ma.fields.AwareDateTime(required=True)
