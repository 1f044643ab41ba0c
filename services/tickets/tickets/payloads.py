"""The payloads of the events tickets consumes, as tickets reads them: tolerant schemas (unknown fields ignored)."""

from __future__ import annotations

import marshmallow as ma

from guanjia.fields import Tolerant


class UnitChanged(Tolerant):
    """unit.created / unit.updated as tickets needs them; unknown fields are ignored (additive changes)."""

    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    building_id = ma.fields.String(load_default=None, allow_none=True)
    number = ma.fields.String(load_default=None, allow_none=True)
    zone_id = ma.fields.String(load_default=None, allow_none=True)
    label = ma.fields.String(load_default=None, allow_none=True)  # additive: `1栋1-101`, for display


class ZoneUpdated(Tolerant):
    zone_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    name = ma.fields.String(load_default=None, allow_none=True)
    butler_ids = ma.fields.List(ma.fields.String(), load_default=list)


class ResidentMoved(Tolerant):
    """resident.moved_in / resident.moved_out: the status is the event's."""

    resident_id = ma.fields.String(required=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)


class ResidentChanged(ResidentMoved):
    """resident.registered / resident.updated (its whole state: `removed` when the record is gone)."""

    status = ma.fields.String(required=True)


class RenovationViolation(Tolerant):
    violation_id = ma.fields.String(required=True)
    renovation_id = ma.fields.String(load_default=None, allow_none=True)
    unit_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    severity = ma.fields.String(load_default="minor")
    rectify_by = ma.fields.String(load_default=None, allow_none=True)
    referred_to_authorities = ma.fields.Boolean(load_default=False)
    occurred_at = ma.fields.String(load_default=None, allow_none=True)


class Absence(Tolerant):
    """staff.absence_started / staff.absence_ended as tickets needs them; unknown fields are ignored."""

    absence_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    user_id = ma.fields.String(required=True)
    stand_in_id = ma.fields.String(required=True)
    starts_at = ma.fields.String(required=True)
    ends_at = ma.fields.String(required=True)


class SurveyLowScore(Tolerant):
    survey_id = ma.fields.String(required=True)
    answer_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    zone_id = ma.fields.String(load_default=None, allow_none=True)
    unit_id = ma.fields.String(load_default=None, allow_none=True)
    service_line = ma.fields.String(required=True)
    score = ma.fields.Integer(required=True)
    scale_max = ma.fields.Integer(required=True)


class MeetingIssueRaised(Tolerant):
    """meeting.issue_raised as tickets needs it: an issue of an owner meeting to open a ticket for."""

    issue_id = ma.fields.String(required=True)
    activity_id = ma.fields.String(required=True)
    community_id = ma.fields.String(required=True)
    zone_id = ma.fields.String(load_default=None, allow_none=True)
    unit_id = ma.fields.String(load_default=None, allow_none=True)
    topic = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
