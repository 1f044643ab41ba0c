"""Payloads of the events residents consumes, as residents reads them: tolerant (unknown fields are ignored)."""

from __future__ import annotations

import marshmallow as ma

from guanjia.fields import Tolerant


class Absence(Tolerant):
    """staff.absence_started / staff.absence_ended as residents needs them."""

    absence_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    user_id = ma.fields.String(required=True)
    stand_in_id = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)
    ends_at = ma.fields.String(required=True)


class AcceptanceDefect(Tolerant):
    """acceptance.defect_opened / acceptance.defect_closed (tickets) as residents needs them: the handover hold."""

    defect_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    item = ma.fields.String(required=True)
    responsible_party = ma.fields.String(load_default="developer")
    rectify_by = ma.fields.String(load_default="")
