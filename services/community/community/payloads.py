"""The tolerant payload schemas of the events community consumes (unknown fields ignored: additive changes)."""

from __future__ import annotations

import marshmallow as ma

from guanjia.fields import Tolerant


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
